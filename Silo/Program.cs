using Hearth.Silo.EmbeddedKafka;
using Hearth.Silo.Hosting;

// `Hearth.Silo embedded-kafka`: the development broker alone. Otherwise the silo (exit codes: SiloExecutable).
return args is [StandaloneEmbeddedKafka.Verb, .. var rest]
    ? await StandaloneEmbeddedKafka.RunAsync(rest, Console.Error)
    : await SiloExecutable.RunAsync(args, Console.Error);
