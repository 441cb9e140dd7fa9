using System.Runtime.InteropServices;
using Hearth.Kafka.Native;

namespace Hearth.Silo.EmbeddedKafka;

/// <summary>
/// librdkafka's mock cluster API (rdkafka_mock.h), which Confluent.Kafka does not wrap. The mock is a
/// Kafka wire-protocol broker running inside this process on 127.0.0.1.
/// </summary>
internal static unsafe partial class MockClusterNative
{
    // Resolved by Librdkafka.UseFor to the librdkafka Confluent.Kafka loads (the librdkafka.redist package's).
    private const string Library = "librdkafka";

    static MockClusterNative() => Librdkafka.UseFor(typeof(MockClusterNative).Assembly);

    public const int ProducerType = 0;
    public const int ConfOk = 0;

    [LibraryImport(Library)]
    public static partial IntPtr rd_kafka_conf_new();

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rd_kafka_conf_set(IntPtr conf, string name, string value, byte* errstr, nuint errstrSize);

    [LibraryImport(Library)]
    public static partial void rd_kafka_conf_destroy(IntPtr conf);

    [LibraryImport(Library)]
    public static partial IntPtr rd_kafka_new(int type, IntPtr conf, byte* errstr, nuint errstrSize);

    [LibraryImport(Library)]
    public static partial void rd_kafka_destroy(IntPtr rk);

    [LibraryImport(Library)]
    public static partial IntPtr rd_kafka_mock_cluster_new(IntPtr rk, int brokerCount);

    [LibraryImport(Library)]
    public static partial void rd_kafka_mock_cluster_destroy(IntPtr cluster);

    [LibraryImport(Library)]
    public static partial IntPtr rd_kafka_mock_cluster_bootstraps(IntPtr cluster);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rd_kafka_mock_topic_create(IntPtr cluster, string topic, int partitionCount, int replicationFactor);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rd_kafka_mock_topic_delete(IntPtr cluster, string topic);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial void rd_kafka_mock_topic_set_error(IntPtr cluster, string topic, int error);

    [LibraryImport(Library)]
    public static partial IntPtr rd_kafka_err2str(int error);
}
