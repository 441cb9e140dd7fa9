using Hearth.Silo.EmbeddedKafka;
using Hearth.Silo.Hosting;
using Hearth.Silo.Security;

// `Hearth.Silo embedded-kafka`: the development broker alone. `Hearth.Silo new-api-key <name> [--control]`: a key
// and its hash. Otherwise the silo (exit codes: SiloExecutable).
return args switch
{
    [StandaloneEmbeddedKafka.Verb, .. var rest] => await StandaloneEmbeddedKafka.RunAsync(rest, Console.Error),
    [NewApiKeyCommand.Verb, .. var rest] => NewApiKeyCommand.Run(rest, Console.Out, Console.Error),
    _ => await SiloExecutable.RunAsync(args, Console.Error),
};
