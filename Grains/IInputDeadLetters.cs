using Hearth.Grains.Interfaces;

namespace Hearth.Grains;

/// <summary>Where inputs that can never be applied go (the host's dead-letter topic).</summary>
public interface IInputDeadLetters
{
    /// <summary>
    /// Dead-letters the inputs at <paramref name="positions"/> (all of one source partition) with
    /// <paramref name="reason"/>, and completes once they are written: their partition's checkpoint may then pass them.
    /// That may take as long as Kafka refuses them; asked again for inputs whose dead letters are not written yet, it
    /// waits for those instead of writing them twice.
    /// </summary>
    Task DeadLetterAsync(IReadOnlyList<InputPosition> positions, string reason, CancellationToken cancellationToken = default);
}
