using System.Net;
using System.Net.Sockets;
using Hearth.Silo.Hosting;
using Hearth.Testing;
using Hearth.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Xunit.Abstractions;

namespace Hearth.Tests.Integration;

/// <summary>
/// A silo whose host fails to start after Orleans started leaves the cluster gracefully before the failure is
/// reported, instead of running on with no host: its membership entry is dead at once, so the other silos need not
/// find out by probing it.
/// </summary>
[Collection(KafkaCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class FailedStartTests(EmbeddedKafkaFixture kafka, ITestOutputHelper output)
{
    /// <summary>Orleans' <c>SiloStatus.Dead</c> in the membership table.</summary>
    private const int Dead = 6;

    [Fact]
    public async Task AnHttpPortTakenAfterTheCheck_StopsTheStartedSiloGracefully_AndItIsDeadInTheCluster()
    {
        var topics = kafka.CreateTopics(partitions: 1);
        var database = await PostgresServer.CreateDatabaseAsync();
        try
        {
            await using var app = Build(topics, database, "http-taken");
            // Taken between the check when the silo is built and the bind after Orleans started.
            using var taken = new TcpListener(IPAddress.Loopback, new Uri(app.Services.GetRequiredService<SiloEndpoints>().Urls[0]).Port);
            taken.Start();

            var failure = await Record.ExceptionAsync(() => SiloApplication.StartAsync(app));

            Assert.IsType<IOException>(failure);
            Assert.Equal(SiloExecutable.PortInUse, SiloExecutable.StartFailure(failure));
            Assert.Equal([Dead], await MemberStatusesAsync(database, "test-http-taken"));
        }
        finally
        {
            await PostgresServer.DropDatabaseAsync(database);
        }
    }

    private WebApplication Build(TestTopics topics, string database, string name) =>
        TestSilo.Build(kafka.BootstrapServers, topics, "unused.db", output, new Dictionary<string, string?>
        {
            ["Storage:Provider"] = "postgres",
            ["Storage:ConnectionString"] = database,
        }, name);

    private static async Task<List<int>> MemberStatusesAsync(string database, string clusterId)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT status FROM orleans_cluster_member WHERE deployment_id = @c", connection);
        command.Parameters.AddWithValue("c", clusterId);
        var statuses = new List<int>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            statuses.Add(reader.GetInt32(0));
        }

        return statuses;
    }
}
