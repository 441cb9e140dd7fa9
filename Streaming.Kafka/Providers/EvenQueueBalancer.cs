using System.Collections.Immutable;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Streams;

namespace Hearth.Streaming.Kafka.Providers;

/// <summary>
/// The provider's default queue balancer: the queues (Kafka partitions) are shared out evenly over the active
/// silos, each pulling <c>Q / N</c> of them or one more, like a Kafka consumer group's assignment. Every silo
/// computes the same assignment from Orleans' membership alone (<see cref="QueueBalancerBase"/>), with no
/// coordination: each queue goes to the silo that ranks it highest by rendezvous hashing and still has room,
/// so a joining or leaving silo moves about the queues it gains or loses and few others.
/// </summary>
/// <remarks>
/// Orleans' consistent-ring balancer gives each silo the queues that hash into its ring ranges: with tens of
/// partitions the shares are uneven, and a silo may get none at all (with 12 queues and 4 silos, about one
/// join in thirty). While silos disagree about membership (seconds, during a change), or about a topic's partitions
/// (partitions added to it, until every silo has read the topic's metadata again), a queue may be pulled by two silos
/// or by none, as with Orleans' own balancers; consumers apply each input once (DESIGN.md).
/// </remarks>
public sealed partial class EvenQueueBalancer : QueueBalancerBase
{
    private readonly Lock _lock = new();
    private KafkaQueueMapper? _growing;
    private HashSet<SiloAddress>? _silos;
    private ImmutableArray<QueueId> _all = [];
    private ImmutableArray<QueueId> _mine = [];

    public EvenQueueBalancer(IServiceProvider services, ILogger<EvenQueueBalancer> logger)
        : base(services, logger)
    {
    }

    /// <summary>Creates the balancer of a stream provider (the shape <c>ConfigurePartitionBalancing</c> expects).</summary>
    public static IStreamQueueBalancer Create(IServiceProvider services, string name) =>
        ActivatorUtilities.CreateInstance<EvenQueueBalancer>(services);

    /// <summary>
    /// Takes the queues of <paramref name="queueMapper"/>. A <see cref="KafkaQueueMapper"/> gains queues as partitions
    /// are added to its topics: the balancer then shares them out again and tells Orleans' pulling manager, which
    /// starts and stops agents by <see cref="GetMyQueues"/> alone.
    /// </summary>
    public override Task Initialize(IStreamQueueMapper queueMapper)
    {
        ArgumentNullException.ThrowIfNull(queueMapper);
        lock (_lock)
        {
            _all = [.. queueMapper.GetAllQueues()];
        }

        if (queueMapper is KafkaQueueMapper growing)
        {
            _growing = growing;
            growing.QueuesAdded += OnQueuesAdded;
        }

        return base.Initialize(queueMapper);
    }

    public override Task Shutdown()
    {
        if (_growing is { } growing)
        {
            growing.QueuesAdded -= OnQueuesAdded;
        }

        return base.Shutdown();
    }

    public override IEnumerable<QueueId> GetMyQueues() => _mine;

    protected override void OnClusterMembershipChange(HashSet<SiloAddress> activeSilos)
    {
        ArgumentNullException.ThrowIfNull(activeSilos);
        bool changed;
        lock (_lock)
        {
            _silos = activeSilos;
            changed = Recompute();
        }

        if (changed)
        {
            _ = NotifyListeners();
        }
    }

    private void OnQueuesAdded(object? sender, EventArgs e)
    {
        bool changed;
        lock (_lock)
        {
            // Only a growing mapper raises this.
            _all = [.. _growing!.GetAllQueues()];
            // Before the first membership snapshot there is nothing to share out; that snapshot takes every queue.
            changed = _silos is not null && Recompute();
        }

        if (changed)
        {
            _ = NotifyListeners();
        }
    }

    /// <summary>This silo's queues from the queues and silos known now; whether they changed.</summary>
    private bool Recompute()
    {
        var silos = _silos!.Select(s => (s.ToParsableString(), (uint)s.GetConsistentHashCode())).ToList();
        var me = SiloAddress.ToParsableString();
        var assignment = Assign(_all, silos);
        var mine = _all.Where(q => assignment[q] == me).ToImmutableArray();
        if (mine.SequenceEqual(_mine))
        {
            return false;
        }

        _mine = mine;
        LogQueues(Logger, mine.Length, _all.Length, _silos!.Count);
        return true;
    }

    /// <summary>
    /// Which silo pulls each queue. Every silo gets <c>Q / N</c> queues, the first <c>Q mod N</c> silos (in order
    /// of address) one more. The (queue, silo) pairs are taken by descending rendezvous score, each queue going to
    /// the first silo with room, so the answer depends only on the sets of queues and silos, not on the order they
    /// are listed in (silos that learnt of a topic's new partitions at different times list its queues differently).
    /// </summary>
    /// <param name="queues">Every queue.</param>
    /// <param name="silos">The active silos: a name that orders them and a stable hash.</param>
    /// <returns>Queue to silo name; empty without silos.</returns>
    public static Dictionary<QueueId, string> Assign(IReadOnlyList<QueueId> queues, IReadOnlyList<(string Name, uint Hash)> silos)
    {
        ArgumentNullException.ThrowIfNull(queues);
        ArgumentNullException.ThrowIfNull(silos);
        var assignment = new Dictionary<QueueId, string>(queues.Count);
        if (silos.Count == 0)
        {
            return assignment;
        }

        queues = [.. queues.Order()];
        var ordered = silos.OrderBy(s => s.Name, StringComparer.Ordinal).ToList();
        var room = new int[ordered.Count];
        for (var i = 0; i < ordered.Count; i++)
        {
            room[i] = (queues.Count / ordered.Count) + (i < queues.Count % ordered.Count ? 1 : 0);
        }

        var pairs = new List<(ulong Score, int Queue, int Silo)>(queues.Count * ordered.Count);
        for (var q = 0; q < queues.Count; q++)
        {
            for (var s = 0; s < ordered.Count; s++)
            {
                pairs.Add((Score(queues[q].GetUniformHashCode(), ordered[s].Hash), q, s));
            }
        }

        // Ties (practically never) fall back to the queue's and the silo's place in name order, so every silo breaks them alike.
        pairs.Sort((a, b) => b.Score != a.Score ? b.Score.CompareTo(a.Score) : a.Queue != b.Queue ? a.Queue.CompareTo(b.Queue) : a.Silo.CompareTo(b.Silo));
        foreach (var (_, q, s) in pairs)
        {
            if (room[s] > 0 && !assignment.ContainsKey(queues[q]))
            {
                assignment[queues[q]] = ordered[s].Name;
                room[s]--;
            }
        }

        return assignment;
    }

    /// <summary>A well-mixed 64-bit score of a (queue, silo) pair (SplitMix64's finaliser).</summary>
    private static ulong Score(uint queue, uint silo)
    {
        var z = (((ulong)queue << 32) | silo) + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "This silo now pulls {Mine} of {All} Kafka partition queues ({Silos} active silos)")]
    private static partial void LogQueues(ILogger logger, int mine, int all, int silos);
}
