using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace Hearth.Runtime.Diagnostics;

/// <summary>The runtime's log messages. Information is what an operator follows; Debug is per message.</summary>
internal static partial class Log
{
    // Lifecycle
    [LoggerMessage(Level = LogLevel.Information,
        Message = "Grain runtime started: group {GroupId}, input topics {Topics}, {Partitions} partitions each")]
    public static partial void RuntimeStarted(ILogger logger, string groupId, string topics, int partitions);

    [LoggerMessage(Level = LogLevel.Information, Message = "Grain runtime stopped after {Checkpoints} checkpoints")]
    public static partial void RuntimeStopped(ILogger logger, long checkpoints);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Silo is stopping because {What}; it re-processes from its last checkpoint when restarted")]
    public static partial void SiloFailing(ILogger logger, string what, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "The broker is ephemeral: stored offsets of group {GroupId} refer to a log that no longer exists and were discarded (grain states are kept)")]
    public static partial void OffsetsDiscarded(ILogger logger, string groupId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Storage ({Provider}) migrated to schema version {Version}: {Description}")]
    public static partial void SchemaMigrated(ILogger logger, string provider, int version, string description);

    // Partitions
    [LoggerMessage(Level = LogLevel.Information, Message = "Assigned partitions {Partitions} (claimed in {ElapsedMs} ms)")]
    public static partial void PartitionsAssigned(ILogger logger, string partitions, long elapsedMs);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Partition {Partition} claimed with lease epoch {Epoch}, resuming at {Offsets}")]
    public static partial void PartitionAssigned(ILogger logger, int partition, long epoch, string offsets);

    [LoggerMessage(Level = LogLevel.Information, Message = "Released partitions {Partitions} ({Reason}) in {ElapsedMs} ms")]
    public static partial void PartitionsReleased(ILogger logger, string partitions, string reason, long elapsedMs);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Lost partition {Partition}: another silo took it over before this one released it; its unsaved work is dropped and re-processed there")]
    public static partial void PartitionLost(ILogger logger, int partition);

    [LoggerMessage(Level = LogLevel.Error,
        Message = "Partition {Partition} is fenced: its lease moved past epoch {Epoch} to another silo, so this silo's state for it was not written and is dropped")]
    public static partial void PartitionFenced(ILogger logger, int partition, long epoch);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Claiming partition {Partition} failed (attempt {Attempt}); retrying")]
    public static partial void ClaimFailed(ILogger logger, int partition, int attempt, Exception exception);

    [LoggerMessage(Level = LogLevel.Error,
        Message = "Could not checkpoint partitions {Partitions} while releasing them; their next owner re-processes since the last checkpoint")]
    public static partial void ReleaseCheckpointFailed(ILogger logger, string partitions, Exception exception);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Dropped {Message}: its partition is not (or no longer) owned here")]
    public static partial void MessageDropped(ILogger logger, string message);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Partition {Partition} stopped processing after an unexpected failure")]
    public static partial void PartitionWorkerFailed(ILogger logger, int partition, Exception exception);

    // Messages and grains
    [LoggerMessage(Level = LogLevel.Debug, Message = "Sent {Message} to the dead-letter topic: {Reason}")]
    public static partial void DeadLettered(ILogger logger, string message, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Grain {GrainType}/{Key} failed on {Message}; the message went to the dead-letter topic")]
    public static partial void GrainFailed(ILogger logger, string grainType, string key, string message, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Grain {GrainType}/{Key} could not be activated; its message went to the dead-letter topic")]
    public static partial void ActivationFailed(ILogger logger, string grainType, string key, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Grain {GrainType}/{Key} failed while deactivating")]
    public static partial void DeactivationFailed(ILogger logger, string grainType, string key, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Reading the state of grain {GrainType}/{Key} failed (attempt {Attempt}); its partition waits {Delay} and retries")]
    public static partial void StateReadFailed(ILogger logger, string grainType, string key, int attempt, TimeSpan delay, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "{Count} input message(s) went to the dead-letter topic {Topic} in the last {Period}; the latest because: {Reason}")]
    public static partial void DeadLettersSummary(ILogger logger, long count, string topic, TimeSpan period, string? reason);

    // Checkpoints
    [LoggerMessage(Level = LogLevel.Error, Message = "Checkpoint failed; nothing was acknowledged and the next checkpoint retries")]
    public static partial void CheckpointFailed(ILogger logger, Exception exception);

    // Kafka
    [LoggerMessage(Message = "librdkafka {Client} {Facility}: {Text}")]
    public static partial void Librdkafka(ILogger logger, LogLevel level, string client, string facility, string text);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kafka error {Code}: {Reason}")]
    public static partial void KafkaError(ILogger logger, ErrorCode code, string reason);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Fatal Kafka error {Code}: {Reason}")]
    public static partial void KafkaFatalError(ILogger logger, ErrorCode code, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Consume error {Code}: {Reason}")]
    public static partial void ConsumeError(ILogger logger, ErrorCode code, string reason);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Consumer loop {Thread} failed")]
    public static partial void ConsumerLoopFailed(ILogger logger, string? thread, Exception exception);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Could not resume {Partitions}: {Reason}")]
    public static partial void ResumeFailed(ILogger logger, string partitions, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Kafka offset commit (fallback) failed: {Code} {Reason}")]
    public static partial void KafkaCommitFailed(ILogger logger, ErrorCode code, string reason);

    [LoggerMessage(Level = LogLevel.Critical,
        Message = "Delivery to {Topic} failed ({Code}: {Reason}); the silo acknowledges nothing more and stops")]
    public static partial void DeliveryFailed(ILogger logger, string topic, ErrorCode code, string reason);
}
