using System.Runtime.InteropServices;

namespace Hearth.Silo.EmbeddedKafka;

/// <summary>
/// A Kafka broker inside this process for development and tests: librdkafka's mock cluster, which
/// speaks the real Kafka protocol on 127.0.0.1 so that any client (kcat included) can use it.
/// </summary>
/// <remarks>
/// Not durable: everything is gone when it is disposed. It keeps only about 5 MiB per partition and
/// silently drops older messages, so consumers must stay close behind producers. It does not implement
/// the CreateTopics request: create topics with <see cref="CreateTopic"/>.
/// </remarks>
public sealed unsafe class EmbeddedKafkaCluster : IDisposable
{
    private readonly Lock _lock = new();
    private IntPtr _handle;
    private IntPtr _cluster;

    public EmbeddedKafkaCluster(int brokers = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(brokers);
        var conf = MockClusterNative.rd_kafka_conf_new();
        Set(conf, "log_level", "3");
        var error = stackalloc byte[512];
        _handle = MockClusterNative.rd_kafka_new(MockClusterNative.ProducerType, conf, error, 512);
        if (_handle == IntPtr.Zero)
        {
            MockClusterNative.rd_kafka_conf_destroy(conf);
            throw new InvalidOperationException("Could not create the embedded Kafka: " + Marshal.PtrToStringUTF8((IntPtr)error));
        }

        _cluster = MockClusterNative.rd_kafka_mock_cluster_new(_handle, brokers);
        if (_cluster == IntPtr.Zero)
        {
            MockClusterNative.rd_kafka_destroy(_handle);
            throw new InvalidOperationException("Could not create the embedded Kafka mock cluster.");
        }

        BootstrapServers = Marshal.PtrToStringUTF8(MockClusterNative.rd_kafka_mock_cluster_bootstraps(_cluster))
            ?? throw new InvalidOperationException("The embedded Kafka has no bootstrap address.");
    }

    /// <summary><c>host:port</c> of the broker(s), for <c>bootstrap.servers</c>.</summary>
    public string BootstrapServers { get; }

    /// <summary>
    /// Names this broker's logs, which nothing outlives: offsets stored by consumers of an earlier embedded
    /// broker mean nothing here (see <c>KafkaStreamOptions.LogIncarnation</c>).
    /// </summary>
    public string Incarnation { get; } = "embedded-" + Guid.NewGuid().ToString("N");

    /// <summary>Creates a topic (replication factor 1).</summary>
    public void CreateTopic(string topic, int partitions)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(topic);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(partitions);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_cluster == IntPtr.Zero, this);
            var error = MockClusterNative.rd_kafka_mock_topic_create(_cluster, topic, partitions, 1);
            if (error != 0)
            {
                throw new InvalidOperationException(
                    $"Could not create topic '{topic}': {Marshal.PtrToStringUTF8(MockClusterNative.rd_kafka_err2str(error))}");
            }
        }
    }

    /// <summary>
    /// Deletes a topic with its messages and the offsets committed for it, as Kafka does; created again under its name,
    /// it starts again at offset 0. The broker gives no topic ids (it answers no DescribeTopics), so nothing tells a
    /// client that the topic it reads is a new one but its offsets.
    /// </summary>
    public void DeleteTopic(string topic)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(topic);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_cluster == IntPtr.Zero, this);
            var error = MockClusterNative.rd_kafka_mock_topic_delete(_cluster, topic);
            if (error != 0)
            {
                throw new InvalidOperationException(
                    $"Could not delete topic '{topic}': {Marshal.PtrToStringUTF8(MockClusterNative.rd_kafka_err2str(error))}");
            }
        }
    }

    /// <summary>
    /// Makes the broker answer every request for <paramref name="topic"/> with <paramref name="error"/> (a Kafka error
    /// code), as a broker refusing it would, until it is set back to <see cref="Confluent.Kafka.ErrorCode.NoError"/>.
    /// </summary>
    public void SetTopicError(string topic, Confluent.Kafka.ErrorCode error)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_cluster == IntPtr.Zero, this);
            MockClusterNative.rd_kafka_mock_topic_set_error(_cluster, topic, (int)error);
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_cluster != IntPtr.Zero)
            {
                MockClusterNative.rd_kafka_mock_cluster_destroy(_cluster);
                _cluster = IntPtr.Zero;
            }

            if (_handle != IntPtr.Zero)
            {
                MockClusterNative.rd_kafka_destroy(_handle);
                _handle = IntPtr.Zero;
            }
        }
    }

    private static void Set(IntPtr conf, string name, string value)
    {
        var error = stackalloc byte[512];
        if (MockClusterNative.rd_kafka_conf_set(conf, name, value, error, 512) != MockClusterNative.ConfOk)
        {
            throw new InvalidOperationException($"librdkafka rejected {name}={value}: {Marshal.PtrToStringUTF8((IntPtr)error)}");
        }
    }
}
