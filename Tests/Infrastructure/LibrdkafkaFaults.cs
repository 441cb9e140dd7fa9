using System.Reflection;
using System.Runtime.InteropServices;
using Confluent.Kafka;
using Hearth.Kafka.Native;
using ErrorCode = Confluent.Kafka.ErrorCode;

namespace Hearth.Tests.Infrastructure;

/// <summary>Faults librdkafka raises in a client when a test asks (its test API, rdkafka.h), which Confluent.Kafka does not wrap.</summary>
internal static partial class LibrdkafkaFaults
{
    // Resolved by Librdkafka.UseFor to the librdkafka Confluent.Kafka loads, so that the call reaches the client's own library.
    private const string Library = "librdkafka";

    static LibrdkafkaFaults() => Librdkafka.UseFor(typeof(LibrdkafkaFaults).Assembly);

    /// <summary>
    /// Makes <paramref name="client"/> fail fatally with <paramref name="error"/>, as an idempotent producer does when it can no
    /// longer keep its guarantees (<c>rd_kafka_test_fatal_error</c>): its error handler is told, and it refuses everything after.
    /// </summary>
    public static void RaiseFatalError(IClient client, ErrorCode error, string reason)
    {
        ArgumentNullException.ThrowIfNull(client);
        // Confluent.Kafka keeps the librdkafka handle (rd_kafka_t *) internal, as a SafeHandle.
        var handle = (SafeHandle)(typeof(Handle).GetProperty("LibrdkafkaHandle", BindingFlags.Instance | BindingFlags.NonPublic)
            ?? throw new InvalidOperationException("Confluent.Kafka's Handle has no LibrdkafkaHandle property any more."))
            .GetValue(client.Handle)!;
        var added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            var result = rd_kafka_test_fatal_error(handle.DangerousGetHandle(), (int)error, reason);
            if (result != 0)
            {
                throw new InvalidOperationException($"librdkafka did not raise the fatal error: {(ErrorCode)result}.");
            }
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int rd_kafka_test_fatal_error(IntPtr rk, int error, string reason);
}
