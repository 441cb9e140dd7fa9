using System.CommandLine;
using System.Globalization;
using Confluent.Kafka;
using Hearth.Client.Simulation;
using Hearth.Grains.Interfaces;
using Hearth.Grains.Interfaces.Codecs;

namespace Hearth.Client;

/// <summary>The client console's verbs.</summary>
public static class ClientApp
{
    /// <summary>Exit code for bad arguments.</summary>
    public const int UsageError = 2;

    /// <summary>Exit code when the thing asked about does not exist.</summary>
    public const int NotFound = 1;

    /// <summary>Exit code when Kafka could not be reached or a message not delivered.</summary>
    public const int Unavailable = 69;

    /// <summary>Exit code when the HTTP API refused the credentials (none, an unknown key, or one without the permission): <c>EX_NOPERM</c>.</summary>
    public const int NotPermitted = 77;

    /// <summary>Runs the client with <paramref name="args"/>; returns the process exit code.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var root = BuildCommand(output, error);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            await error.WriteLineAsync($"error: {parse.Errors[0].Message} (see --help)");
            return UsageError;
        }

        try
        {
            return await parse.InvokeAsync(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null }, cancellationToken);
        }
        catch (UsageException e)
        {
            await error.WriteLineAsync($"error: {e.Message}");
            return UsageError;
        }
        catch (KafkaException e)
        {
            await error.WriteLineAsync($"error: Kafka: {e.Error.Reason}");
            return Unavailable;
        }
        catch (HttpRequestException e)
        {
            await error.WriteLineAsync($"error: HTTP: {e.Message}");
            return Unavailable;
        }
        catch (ApiClient.NotFoundException e)
        {
            await error.WriteLineAsync($"error: {e.Message}");
            return NotFound;
        }
        catch (ApiClient.NotPermittedException e)
        {
            await error.WriteLineAsync($"error: {e.Message}");
            return NotPermitted;
        }
    }

    private static RootCommand BuildCommand(TextWriter output, TextWriter error)
    {
        var bootstrap = new Option<string?>("--bootstrap")
        {
            Description = "Kafka bootstrap servers (host:port); defaults to $Kafka__BootstrapServers",
            Recursive = true,
        };
        var readings = new Option<string>("--readings-topic") { Description = "Readings topic", DefaultValueFactory = _ => "thermostat-readings", Recursive = true };
        var settings = new Option<string>("--settings-topic") { Description = "Settings topic", DefaultValueFactory = _ => "thermostat-settings", Recursive = true };
        var commands = new Option<string>("--commands-topic") { Description = "Heater commands topic", DefaultValueFactory = _ => "heater-commands", Recursive = true };

        // The HTTP verbs' credentials: a key from Hearth.Silo new-api-key (or the one ./run.sh prints).
        var apiKey = new Option<string?>("--api-key")
        {
            Description = "API key for the HTTP API (status, set --api); defaults to $HEARTH_API_KEY",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("HEARTH_API_KEY"),
            Recursive = true,
        };

        // Kafka's credentials and TLS, by the silo's convention (Kafka__Properties__*, Kafka__PropertyFiles__*).
        var kafkaProperties = new Option<string[]>("--kafka-property")
        {
            Description = "A librdkafka property name=value for the Kafka clients (repeatable), over $Kafka__Properties__<name> " +
                "and $Kafka__PropertyFiles__<name> (a file holding the value); put secrets (sasl.password) in those, not here",
            Arity = ArgumentArity.ZeroOrMore,
            Recursive = true,
        };

        KafkaEndpoint Endpoint(ParseResult parse)
        {
            var servers = parse.GetValue(bootstrap) ?? Environment.GetEnvironmentVariable("Kafka__BootstrapServers");
            if (string.IsNullOrWhiteSpace(servers))
            {
                throw new UsageException("no Kafka address: pass --bootstrap host:port or set Kafka__BootstrapServers");
            }

            Dictionary<string, string> properties;
            try
            {
                properties = KafkaProperties.Resolve(parse.GetValue(kafkaProperties) ?? [], Environment.GetEnvironmentVariables());
            }
            catch (ArgumentException e)
            {
                throw new UsageException(e.Message);
            }

            return new KafkaEndpoint(servers, parse.GetValue(readings)!, parse.GetValue(settings)!, parse.GetValue(commands)!) { Properties = properties };
        }

        var root = new RootCommand("Hearth client: publish thermostat settings, simulate a fleet, watch heater commands.");
        root.Options.Add(bootstrap);
        root.Options.Add(readings);
        root.Options.Add(settings);
        root.Options.Add(commands);
        root.Options.Add(apiKey);
        root.Options.Add(kafkaProperties);
        root.Subcommands.Add(SetCommand(Endpoint, apiKey, output));
        root.Subcommands.Add(SimulateCommand(Endpoint, output));
        root.Subcommands.Add(WatchCommand(Endpoint, output));
        root.Subcommands.Add(StatusCommand(apiKey, output));
        return root;
    }

    private static Command SetCommand(Func<ParseResult, KafkaEndpoint> endpoint, Option<string?> apiKey, TextWriter output)
    {
        var id = new Argument<string>("id") { Description = "Thermostat id" };
        var temperature = new Option<double>("--temperature") { Description = "Desired temperature", Required = true };
        var up = new Option<double>("--up-delta") { Description = "Heater goes off above temperature + up-delta", Required = true };
        var down = new Option<double>("--down-delta") { Description = "Heater goes on below temperature - down-delta", Required = true };
        var api = new Option<string?>("--api") { Description = "Send the setting through a silo's HTTP API (e.g. http://127.0.0.1:8080) instead of Kafka" };
        var command = new Command("set", "Publish a thermostat's setting") { id, temperature, up, down, api };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var setting = new ThermostatSetting(parse.GetValue(id)!, parse.GetValue(temperature), parse.GetValue(up), parse.GetValue(down));
            if (string.IsNullOrWhiteSpace(setting.ThermostatId))
            {
                throw new UsageException("the thermostat id must not be empty");
            }

            if (!double.IsFinite(setting.Temperature) || !double.IsFinite(setting.UpDelta) || !double.IsFinite(setting.DownDelta))
            {
                throw new UsageException("--temperature, --up-delta and --down-delta must be finite numbers");
            }

            if (setting.UpDelta < 0 || setting.DownDelta < 0)
            {
                throw new UsageException("--up-delta and --down-delta must not be negative");
            }

            if (parse.GetValue(api) is { } baseAddress)
            {
                return await ApiClient.PutSettingAsync(ApiAddress(baseAddress), parse.GetValue(apiKey), setting, output, cancellationToken);
            }

            var kafka = endpoint(parse);
            using var producer = kafka.CreateProducer();
            var result = await producer.ProduceAsync(kafka.SettingsTopic,
                new Message<string, byte[]> { Key = setting.ThermostatId, Value = ThermostatJson.Encode(setting) }, cancellationToken);
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"published setting of {setting.ThermostatId}: {setting.Temperature} (-{setting.DownDelta}/+{setting.UpDelta}) to {result.TopicPartitionOffset}"));
            return 0;
        });
        return command;
    }

    private static Command SimulateCommand(Func<ParseResult, KafkaEndpoint> endpoint, TextWriter output)
    {
        var defaults = new SimulationOptions();
        var thermostats = new Option<int>("--thermostats") { Description = "Fleet size", DefaultValueFactory = _ => defaults.Thermostats };
        var rate = new Option<double>("--rate") { Description = "Readings per second over the fleet", DefaultValueFactory = _ => defaults.Rate };
        var duration = new Option<TimeSpan?>("--duration") { Description = "Run time (e.g. 00:05:00); default: until Ctrl-C" };
        var timeScale = new Option<double>("--time-scale") { Description = "Simulated seconds per real second", DefaultValueFactory = _ => defaults.TimeScale };
        var heat = new Option<double>("--heat-minutes") { Description = "Simulated minutes per degree of heating while on", DefaultValueFactory = _ => defaults.HeatMinutes };
        var cool = new Option<double>("--cool-minutes") { Description = "Simulated minutes per degree of cooling while off", DefaultValueFactory = _ => defaults.CoolMinutes };
        var warmup = new Option<TimeSpan>("--warmup") { Description = "Time before the in-band share counts", DefaultValueFactory = _ => defaults.Warmup };
        var prefix = new Option<string>("--id-prefix") { Description = "Thermostat id prefix", DefaultValueFactory = _ => defaults.IdPrefix };
        var seed = new Option<int>("--seed") { Description = "Random seed (setpoints, start temperatures)", DefaultValueFactory = _ => defaults.Seed };
        var command = new Command("simulate", "Run a closed-loop fleet of thermostats with simulated heaters")
        {
            thermostats, rate, duration, timeScale, heat, cool, warmup, prefix, seed,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var options = defaults with
            {
                Thermostats = parse.GetValue(thermostats),
                Rate = parse.GetValue(rate),
                Duration = parse.GetValue(duration),
                TimeScale = parse.GetValue(timeScale),
                HeatMinutes = parse.GetValue(heat),
                CoolMinutes = parse.GetValue(cool),
                Warmup = parse.GetValue(warmup),
                IdPrefix = parse.GetValue(prefix)!,
                Seed = parse.GetValue(seed),
            };
            if (options.Validate() is { } problem)
            {
                throw new UsageException(problem);
            }

            var kafka = endpoint(parse);
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"simulating {options.Thermostats} thermostats at {options.Rate} readings/s on {kafka.BootstrapServers} (Ctrl-C to stop)"));
            var simulator = new FleetSimulator(kafka, options);
            var summary = await simulator.RunAsync(new Progress<FleetProgress>(p => output.WriteLine(Format(p))), cancellationToken);
            await output.WriteLineAsync(Format(summary));
            return 0;
        });
        return command;
    }

    private static Command WatchCommand(Func<ParseResult, KafkaEndpoint> endpoint, TextWriter output)
    {
        var fromBeginning = new Option<bool>("--from-beginning") { Description = "Start at the oldest command instead of the newest" };
        var id = new Option<string?>("--id") { Description = "Only this thermostat's commands" };
        var command = new Command("watch", "Print heater commands as they are published") { fromBeginning, id };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var kafka = endpoint(parse);
            var only = parse.GetValue(id);
            using var consumer = kafka.CreateCommandConsumer(parse.GetValue(fromBeginning));
            await Task.Factory.StartNew(() =>
            {
                foreach (var (position, decoded) in KafkaEndpoint.ReadCommands(consumer, cancellationToken))
                {
                    if (!decoded.IsSuccess)
                    {
                        output.WriteLine($"{position}: {decoded.Error}");
                    }
                    else if (only is null || decoded.Value.ThermostatId == only)
                    {
                        output.WriteLine(Format(decoded.Value));
                    }
                }
            }, TaskCreationOptions.LongRunning);
            return 0;
        });
        return command;
    }

    private static Command StatusCommand(Option<string?> apiKey, TextWriter output)
    {
        var id = new Argument<string>("id") { Description = "Thermostat id" };
        var api = new Option<string>("--api")
        {
            Description = "A silo's (or the load balancer's) HTTP address; defaults to $HEARTH_API or http://127.0.0.1:5080",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("HEARTH_API") ?? "http://127.0.0.1:5080",
        };
        var command = new Command("status", "Show a thermostat's live state through the HTTP API") { id, api };
        command.SetAction((parse, cancellationToken) =>
            ApiClient.GetStatusAsync(ApiAddress(parse.GetValue(api)!), parse.GetValue(apiKey), parse.GetValue(id)!, output, cancellationToken));
        return command;
    }

    private static Uri ApiAddress(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? uri
            : throw new UsageException($"--api must be an http(s) address such as http://127.0.0.1:8080; '{text}' is not");

    internal static string Format(HeaterCommand c) => string.Create(CultureInfo.InvariantCulture,
        $"{c.Timestamp:HH:mm:ss.fff} {c.ThermostatId,-12} heater {(c.Action == HeaterAction.On ? "ON " : "OFF")} measurement {c.Measurement,6:F2} setpoint {c.Setpoint,6:F2} seq {c.Seq}");

    internal static string Format(FleetProgress p) => string.Create(CultureInfo.InvariantCulture,
        $"{p.Elapsed:hh\\:mm\\:ss} readings {p.Readings,9} ({p.ReadingsPerSecond,7:F0}/s)  commands {p.Commands,7}  heaters on {p.HeatersOn,6}  in band {p.InBand,6:P1}  within 1° {p.WithinOneDegree,6:P1}{(p.WarmedUp ? "" : "  (warming up)")}");

    internal static string Format(FleetSummary s) => string.Create(CultureInfo.InvariantCulture, $"""
        summary: {s.Thermostats} thermostats, {s.Elapsed:hh\:mm\:ss}, {s.Readings} readings, {s.Commands} commands ({s.DuplicateCommands} duplicates dropped)
                 now in band {s.FinalInBand:P1}, within 1° of band {s.FinalWithinOneDegree:P1}
                 after warm-up ({s.Samples} samples): within 1° of band min {s.MinWithinOneDegree:P1}, mean {s.MeanWithinOneDegree:P1}
        """);

    internal sealed class UsageException(string message) : Exception(message);
}
