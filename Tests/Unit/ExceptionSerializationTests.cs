using Confluent.Kafka;
using Hearth.Silo.Configuration;
using Hearth.Silo.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Orleans.Serialization;

namespace Hearth.Tests.Unit;

/// <summary>
/// A controller's failure travels back to the pulling agent that delivered to it, which may be on another silo: the
/// exceptions the database and Kafka clients throw must survive Orleans' serializer with their message, or the
/// agent sees a CodecNotFoundException instead of the cause.
/// </summary>
public sealed class ExceptionSerializationTests
{
    [Fact]
    public void AStorageFailureFromPostgreSQL_CrossesSilos_WithTheDatabasesError()
    {
        using var silo = SiloHost();
        var serializer = silo.Services.GetRequiredService<Serializer>();
        var failure = new OrleansException("Error from storage provider during WriteStateAsync",
            new NpgsqlException("The connection pool has been exhausted", new TimeoutException("timed out")));

        var copy = serializer.Deserialize<Exception>(serializer.SerializeToArray<Exception>(failure));

        var inner = Assert.IsType<NpgsqlException>(copy!.InnerException);
        Assert.Equal("The connection pool has been exhausted", inner.Message);
        Assert.Equal("timed out", Assert.IsType<TimeoutException>(inner.InnerException!).Message);
    }

    [Fact]
    public void APublishingFailureFromKafka_CrossesSilos_WithKafkasError()
    {
        using var silo = SiloHost();
        var serializer = silo.Services.GetRequiredService<Serializer>();
        var failure = new KafkaException(new Error(Confluent.Kafka.ErrorCode.Local_MsgTimedOut, "Message timed out"));

        var copy = serializer.Deserialize<Exception>(serializer.SerializeToArray<Exception>(failure));

        Assert.IsType<KafkaException>(copy);
        Assert.Equal("Message timed out", copy.Message);
    }

    /// <summary>A silo configured as the product configures one on PostgreSQL (built, not started).</summary>
    private static IHost SiloHost()
    {
        var settings = SiloSettings.Read(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Kafka:BootstrapServers"] = "127.0.0.1:9092",
            ["Storage:Provider"] = "postgres",
            ["Storage:ConnectionString"] = "Host=127.0.0.1;Username=postgres",
        }).Build());
        var builder = Host.CreateApplicationBuilder();
        builder.UseOrleans(silo => silo.UseLocalhostClustering().AddThermostatControl(settings));
        return builder.Build();
    }
}
