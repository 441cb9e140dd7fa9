namespace Hearth.Runtime.Membership;

/// <summary>How silos tell the membership table they are alive. Section <c>Membership</c>.</summary>
public sealed class MembershipOptions
{
    public const string SectionName = "Membership";

    public static readonly TimeSpan DefaultHeartbeatInterval = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan DefaultDeadAfter = TimeSpan.FromSeconds(10);

    /// <summary>How often a silo writes its heartbeat, partitions and figures.</summary>
    /// <remarks>Allowed range 100 ms..1 min.</remarks>
    public TimeSpan HeartbeatInterval { get; set; } = DefaultHeartbeatInterval;

    /// <summary>
    /// A silo without a heartbeat for this long is shown dead. (Its partitions move when Kafka's session
    /// times out, <c>Kafka:SessionTimeoutMs</c>, whatever this says.)
    /// </summary>
    /// <remarks>At least twice <see cref="HeartbeatInterval"/>, at most 1 h.</remarks>
    public TimeSpan DeadAfter { get; set; } = DefaultDeadAfter;
}

/// <summary>Validates <see cref="MembershipOptions"/>.</summary>
public sealed class MembershipOptionsValidator : Microsoft.Extensions.Options.IValidateOptions<MembershipOptions>
{
    public Microsoft.Extensions.Options.ValidateOptionsResult Validate(string? name, MembershipOptions options)
    {
        var failures = new List<string>();
        Configuration.OptionChecks.Range(failures, "Membership:HeartbeatInterval", options.HeartbeatInterval,
            TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(1));

        if (options.DeadAfter < 2 * options.HeartbeatInterval || options.DeadAfter > TimeSpan.FromHours(1))
        {
            failures.Add($"Membership:DeadAfter must be at least twice Membership:HeartbeatInterval and at most 01:00:00; it is {options.DeadAfter}.");
        }

        return failures.Count == 0
            ? Microsoft.Extensions.Options.ValidateOptionsResult.Success
            : Microsoft.Extensions.Options.ValidateOptionsResult.Fail(failures);
    }
}
