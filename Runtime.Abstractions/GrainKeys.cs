namespace Hearth.Runtime;

/// <summary>
/// What a grain key may be: 1 to <see cref="MaxLength"/> characters, none of them a control character.
/// Grain state is stored under its key (a <c>VARCHAR(255)</c> column), so a key outside these bounds could
/// never be checkpointed; the runtime dead-letters messages with such keys and the HTTP API refuses them.
/// </summary>
public static class GrainKeys
{
    /// <summary>The longest key, in characters.</summary>
    public const int MaxLength = 255;

    /// <summary>Why <paramref name="key"/> cannot be a grain key, or null if it can.</summary>
    public static string? Problem(string key) =>
        string.IsNullOrWhiteSpace(key) ? "the key is empty"
        : key.Length > MaxLength ? $"the key is {key.Length} characters long; at most {MaxLength} are allowed"
        : key.Any(char.IsControl) ? "the key contains control characters"
        : null;
}
