using System.Security.Claims;

namespace Hearth.Silo.Security;

/// <summary>What a caller may do.</summary>
[Flags]
public enum Permission
{
    None = 0,

    /// <summary>The thermostats' state, the cluster view, its history, the dashboards, <c>/metrics</c>.</summary>
    Read = 1,

    /// <summary>Publishing settings, and anything later that changes the fleet. Includes <see cref="Read"/>.</summary>
    Control = 2 | Read,
}

/// <summary>The permissions as claims and as the authorization policies that require them.</summary>
public static class Permissions
{
    /// <summary>The claim an authenticated caller carries once per permission it has, whichever way it authenticated.</summary>
    public const string ClaimType = "hearth:permission";

    /// <summary>The policy of reading (the fallback of every endpoint).</summary>
    public const string ReadPolicy = "read";

    /// <summary>The policy of changing the fleet.</summary>
    public const string ControlPolicy = "control";

    /// <summary>The permission a word names (<c>read</c>, <c>control</c>), or null.</summary>
    public static Permission? Parse(string word) => word.Trim().ToLowerInvariant() switch
    {
        "read" => Permission.Read,
        "control" => Permission.Control,
        _ => null,
    };

    /// <summary>Every permission named in <paramref name="words"/> (separated by commas or white space); unknown words are ignored.</summary>
    public static Permission ParseAll(string? words) =>
        (words ?? "").Split([',', ' ', '\t'], StringSplitOptions.RemoveEmptyEntries)
            .Aggregate(Permission.None, (all, word) => all | (Parse(word) ?? Permission.None));

    /// <summary>The claims of <paramref name="permission"/>: control implies read.</summary>
    public static IEnumerable<Claim> Claims(Permission permission)
    {
        if (permission.HasFlag(Permission.Read))
        {
            yield return new Claim(ClaimType, ReadPolicy);
        }

        if (permission.HasFlag(Permission.Control))
        {
            yield return new Claim(ClaimType, ControlPolicy);
        }
    }
}
