using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Hearth.Silo.Configuration;

/// <summary>
/// CA certificates from a PEM file named by a configuration key (the cluster's CA, an identity provider's), read once
/// as the silo starts so that a missing or wrong file fails the start with its key named.
/// </summary>
public static class PemCertificates
{
    /// <summary>
    /// The certificates in the PEM file at <paramref name="path"/>, or null with a failure naming <paramref name="key"/>:
    /// the file cannot be read, is not PEM, or holds no certificate.
    /// </summary>
    public static X509Certificate2Collection? Load(string key, string path, List<string> failures)
    {
        ArgumentNullException.ThrowIfNull(failures);
        var certificates = new X509Certificate2Collection();
        try
        {
            certificates.ImportFromPemFile(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
        {
            failures.Add($"{key} '{path}' cannot be read as PEM certificates: {e.Message}");
            return null;
        }

        if (certificates.Count == 0)
        {
            failures.Add($"{key} '{path}' holds no PEM certificate.");
            return null;
        }

        return certificates;
    }
}
