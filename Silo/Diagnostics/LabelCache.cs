namespace Hearth.Silo.Diagnostics;

/// <summary>
/// The label text of each tag set an instrument has recorded, so that a measurement whose tags were seen
/// before finds its series without allocating (instruments record on every message).
/// </summary>
/// <remarks>Not thread-safe: the owning series calls it under its lock. Tag sets beyond
/// <see cref="Capacity"/> (an instrument tagged with unbounded values) are formatted each time, not kept.</remarks>
internal sealed class LabelCache
{
    public const int Capacity = 1024;

    private readonly Dictionary<int, Entry[]> _byHash = [];
    private int _count;

    public string Get(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.Length == 0)
        {
            return "";
        }

        var hash = Hash(tags);
        _byHash.TryGetValue(hash, out var entries);
        foreach (var entry in entries ?? [])
        {
            if (entry.Matches(tags))
            {
                return entry.Labels;
            }
        }

        var labels = PrometheusMetrics.Labels(tags);
        if (_count < Capacity)
        {
            _byHash[hash] = [.. entries ?? [], new Entry(tags.ToArray(), labels)];
            _count++;
        }

        return labels;
    }

    private static int Hash(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var hash = new HashCode();
        foreach (var (key, value) in tags)
        {
            hash.Add(key, StringComparer.Ordinal);
            hash.Add(value);
        }

        return hash.ToHashCode();
    }

    private sealed record Entry(KeyValuePair<string, object?>[] Tags, string Labels)
    {
        public bool Matches(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (tags.Length != Tags.Length)
            {
                return false;
            }

            for (var i = 0; i < tags.Length; i++)
            {
                if (!string.Equals(tags[i].Key, Tags[i].Key, StringComparison.Ordinal) || !Equals(tags[i].Value, Tags[i].Value))
                {
                    return false;
                }
            }

            return true;
        }
    }
}
