using System.Collections.Immutable;
using System.Net;
using System.Threading.Channels;
using Hearth.Streaming.Kafka.Providers;
using Hearth.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Streams;

namespace Hearth.Tests.Unit;

/// <summary>How the default queue balancer shares Kafka partitions out: evenly, the same on every silo, moving few on a change.</summary>
public sealed class EvenQueueBalancerTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static List<QueueId> Queues(int partitions) =>
        [.. new KafkaQueueMapper([("readings", partitions), ("settings", partitions)], ns => ns).GetAllQueues()];

    private static List<(string Name, uint Hash)> Silos(int count, int generation = 1) =>
        [.. Enumerable.Range(0, count).Select(i => ($"10.0.0.{i}:11111@{generation}", (uint)HashCode.Combine(i, generation)))];

    [Theory]
    [InlineData(1, 1)]
    [InlineData(6, 4)]
    [InlineData(6, 5)]
    [InlineData(16, 3)]
    [InlineData(2, 7)]
    public void EverySilo_PullsItsShare_AndEveryQueueIsPulledOnce(int partitions, int silos)
    {
        var queues = Queues(partitions);

        var assignment = EvenQueueBalancer.Assign(queues, Silos(silos));

        Assert.Equal(queues.Order(), assignment.Keys.Order());
        var loads = Silos(silos).Select(s => assignment.Values.Count(v => v == s.Name)).ToList();
        Assert.All(loads, l => Assert.InRange(l, queues.Count / silos, (queues.Count + silos - 1) / silos));
    }

    [Fact]
    public void EverySilo_ComputesTheSameAssignment_WhateverOrderItSeesTheMembersIn()
    {
        var queues = Queues(6);
        var silos = Silos(4);

        var one = EvenQueueBalancer.Assign(queues, silos);
        var other = EvenQueueBalancer.Assign(queues, [.. Enumerable.Reverse(silos)]);

        Assert.Equal(one.OrderBy(p => p.Key).ToList(), other.OrderBy(p => p.Key).ToList());
    }

    [Fact]
    public void NoSilo_NoQueues()
    {
        Assert.Empty(EvenQueueBalancer.Assign(Queues(3), []));
    }

    [Theory]
    [InlineData(6, 3)]
    [InlineData(6, 4)]
    [InlineData(12, 2)]
    [InlineData(16, 5)]
    public void AJoiningSilo_TakesItsShare_AndFewOthersMove(int partitions, int before)
    {
        var queues = Queues(partitions);
        var moved = 0;
        var needed = 0;
        for (var generation = 1; generation <= 50; generation++)
        {
            var old = EvenQueueBalancer.Assign(queues, Silos(before, generation));
            var silos = Silos(before + 1, generation);
            var now = EvenQueueBalancer.Assign(queues, silos);
            var joined = silos[^1].Name;

            Assert.InRange(now.Values.Count(v => v == joined), queues.Count / silos.Count, (queues.Count + silos.Count - 1) / silos.Count);
            needed += now.Values.Count(v => v == joined);
            moved += queues.Count(q => old[q] != now[q]);
        }

        // Each queue that moves pauses its partition for a handoff. The joiner's share must move; a silo that gave
        // the joiner a queue may take another's, but on average well under twice the share moves (sharing out by
        // position, queue i to silo i mod N, would move most queues).
        Assert.InRange(moved, needed, (needed * 2) - 1);
    }

    [Fact]
    public void TheAssignment_DoesNotDependOnTheOrderTheQueuesAreListedIn_EvenWhenTwoQueuesShareAHash()
    {
        // Silos list the queues as their mappers know them (topics in the order configured, partitions as learnt), and
        // partitions of two topics may share a hash (one pair in 2^32): a tie every silo must break alike.
        var queues = Queues(6);
        queues.Add(QueueId.GetQueueId("other", 0, queues[0].GetUniformHashCode()));
        List<List<QueueId>> listings =
        [
            [.. Enumerable.Reverse(queues)],
            [.. queues.OrderBy(q => q.GetUniformHashCode()).ThenByDescending(q => q.GetStringNamePrefix(), StringComparer.Ordinal)],
            [.. queues.OrderBy(q => q.GetUniformHashCode()).ThenBy(q => q.GetStringNamePrefix(), StringComparer.Ordinal)],
        ];

        foreach (var silos in new[] { 2, 3, 4, 13 })
        {
            var expected = EvenQueueBalancer.Assign(queues, Silos(silos)).OrderBy(p => p.Key).ToList();
            Assert.All(listings, listing => Assert.Equal(expected, EvenQueueBalancer.Assign(listing, Silos(silos)).OrderBy(p => p.Key).ToList()));
        }
    }

    [Fact]
    public async Task PartitionsAddedToATopic_AreSharedOut_AndEveryQueueIsPulledByExactlyOneSilo()
    {
        var addresses = Enumerable.Range(1, 3).Select(i => SiloAddress.New(IPAddress.Loopback, 11110 + i, 1)).ToList();
        var silos = addresses.Select(a => new BalancedSilo(a, new KafkaQueueMapper([("readings", 2), ("settings", 2)], ns => ns))).ToList();
        await using var _ = new AsyncDisposables(silos);
        foreach (var silo in silos)
        {
            await silo.StartAsync(addresses);
        }

        await Poll.UntilAsync(() => Task.FromResult(silos.Sum(s => s.Balancer.GetMyQueues().Count()) == 4), Timeout, "4 queues shared out");
        AssertEachQueuePulledOnce(silos, 4);
        var notified = silos.Select(s => s.Notifications).ToList();

        // Each silo reads the topics' metadata in its own time; once all have, they agree again.
        foreach (var silo in silos)
        {
            silo.Mapper.Grow([("readings", 8), ("settings", 2)]);
        }

        AssertEachQueuePulledOnce(silos, 10);
        Assert.All(silos, s => Assert.InRange(s.Balancer.GetMyQueues().Count(), 3, 4));
        // Every silo's share changed, so each told its pulling manager (which starts and stops agents by GetMyQueues).
        Assert.All(silos.Zip(notified), s => Assert.True(s.First.Notifications > s.Second, "the pulling manager was told"));
    }

    [Fact]
    public async Task ASiloThatHasNotSeenTheNewPartitions_KeepsItsQueues_UntilItHas()
    {
        var addresses = Enumerable.Range(1, 2).Select(i => SiloAddress.New(IPAddress.Loopback, 11120 + i, 1)).ToList();
        var silos = addresses.Select(a => new BalancedSilo(a, new KafkaQueueMapper([("readings", 1)], ns => ns))).ToList();
        await using var _ = new AsyncDisposables(silos);
        foreach (var silo in silos)
        {
            await silo.StartAsync(addresses);
        }

        await Poll.UntilAsync(() => Task.FromResult(silos.Sum(s => s.Balancer.GetMyQueues().Count()) == 1), Timeout, "the queue pulled");
        var (early, late) = (silos[0], silos[1]);
        early.Mapper.Grow([("readings", 6)]);

        // Meanwhile a queue may be pulled by two silos or by none (as while membership changes); consumers apply input once.
        Assert.Equal(3, early.Balancer.GetMyQueues().Count());
        late.Mapper.Grow([("readings", 6)]);
        AssertEachQueuePulledOnce(silos, 6);
    }

    private static void AssertEachQueuePulledOnce(List<BalancedSilo> silos, int queues)
    {
        var pulled = silos.SelectMany(s => s.Balancer.GetMyQueues()).ToList();
        Assert.Equal(queues, pulled.Count);
        Assert.Equal(pulled.Order(), silos[0].Mapper.GetAllQueues().Order());
    }

    /// <summary>An <see cref="EvenQueueBalancer"/> as a silo runs it: its own mapper, membership and pulling manager.</summary>
    private sealed class BalancedSilo : IStreamQueueBalanceListener, IAsyncDisposable
    {
        private readonly Channel<ClusterMembershipSnapshot> _membership = Channel.CreateUnbounded<ClusterMembershipSnapshot>();
        private readonly ServiceProvider _services;
        private int _notifications;

        public BalancedSilo(SiloAddress address, KafkaQueueMapper mapper)
        {
            Mapper = mapper;
            _services = new ServiceCollection()
                .AddSingleton<IClusterMembershipService>(new Membership(_membership.Reader))
                .AddSingleton<ILocalSiloDetails>(new LocalSilo(address))
                .BuildServiceProvider();
            Balancer = new EvenQueueBalancer(_services, NullLogger<EvenQueueBalancer>.Instance);
        }

        public KafkaQueueMapper Mapper { get; }

        public EvenQueueBalancer Balancer { get; }

        public int Notifications => Volatile.Read(ref _notifications);

        public async Task StartAsync(IReadOnlyList<SiloAddress> active)
        {
            await Balancer.Initialize(Mapper);
            Balancer.SubscribeToQueueDistributionChangeEvents(this);
            var members = active.ToImmutableDictionary(a => a, a => new ClusterMember(a, SiloStatus.Active, a.ToString()));
            await _membership.Writer.WriteAsync(new ClusterMembershipSnapshot(members, new MembershipVersion(1)));
        }

        public Task QueueDistributionChangeNotification()
        {
            Interlocked.Increment(ref _notifications);
            return Task.CompletedTask;
        }

        public async ValueTask DisposeAsync()
        {
            await Balancer.Shutdown();
            await _services.DisposeAsync();
        }
    }

    private sealed class Membership(ChannelReader<ClusterMembershipSnapshot> updates) : IClusterMembershipService
    {
        public ClusterMembershipSnapshot CurrentSnapshot => throw new NotSupportedException();

        public IAsyncEnumerable<ClusterMembershipSnapshot> MembershipUpdates => updates.ReadAllAsync();

        public ValueTask Refresh(MembershipVersion minimumVersion = default, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public Task<bool> TryKill(SiloAddress siloAddress) => Task.FromResult(false);
    }

    private sealed class LocalSilo(SiloAddress address) : ILocalSiloDetails
    {
        public string Name => address.ToString();

        public string ClusterId => "test";

        public string DnsHostName => "localhost";

        public SiloAddress SiloAddress => address;

        public SiloAddress GatewayAddress => address;
    }

    private sealed class AsyncDisposables(IEnumerable<IAsyncDisposable> items) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            foreach (var item in items)
            {
                await item.DisposeAsync();
            }
        }
    }
}
