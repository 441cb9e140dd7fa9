namespace Hearth.Runtime.Configuration;

/// <summary>This silo's identity. Section <c>Silo</c>.</summary>
public sealed class SiloOptions
{
    public const string SectionName = "Silo";

    /// <summary>A name unique in the cluster; defaults to <c>host-pid</c>.</summary>
    public string Name { get; set; } = $"{Environment.MachineName}-{Environment.ProcessId}";
}
