namespace Hearth.Silo.EmbeddedKafka;

/// <summary>
/// The embedded development broker. Section <c>EmbeddedKafka</c>, read only when there is one: when
/// <c>Kafka:BootstrapServers</c> is empty, and by <c>Hearth.Silo embedded-kafka</c>.
/// </summary>
public sealed class EmbeddedKafkaOptions
{
    public const string SectionName = "EmbeddedKafka";

    /// <summary>
    /// A file the broker's <c>host:port</c> is written to once it listens (whole, so that a script polling for it
    /// never reads half), and deleted from when it stops. Not set: the address is only logged.
    /// </summary>
    public string? BootstrapFile { get; set; }
}
