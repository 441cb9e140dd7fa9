using System.Text;
using Hearth.Streaming.Kafka.Providers;

namespace Hearth.Tests.Unit;

public sealed class KafkaPartitionerTests
{
    // Apache Kafka's own vectors for Utils.murmur2 (clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java).
    [Theory]
    [InlineData("21", -973932308)]
    [InlineData("foobar", -790332482)]
    [InlineData("a-little-bit-long-string", -985981536)]
    [InlineData("a-little-bit-longer-string", -1486304829)]
    [InlineData("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971)]
    [InlineData("abc", 479470107)]
    [InlineData("1", -1993445489)]
    [InlineData("12", 126087238)]
    [InlineData("123", -267702483)]
    [InlineData("1234", -1614185708)]
    [InlineData("12345", -1188365604)]
    public void Murmur2_MatchesJavaKafka(string key, int expected)
    {
        Assert.Equal(expected, KafkaPartitioner.Murmur2(Encoding.UTF8.GetBytes(key)));
    }

    [Theory]
    [InlineData("21", 8)]
    [InlineData("foobar", 3)]
    [InlineData("a-little-bit-longer-string", 1000)]
    public void Partition_IsPositiveMurmurModuloCount(string key, int partitions)
    {
        var hash = KafkaPartitioner.Murmur2(Encoding.UTF8.GetBytes(key));

        Assert.Equal((hash & 0x7fffffff) % partitions, KafkaPartitioner.Partition(Encoding.UTF8.GetBytes(key), partitions));
    }
}
