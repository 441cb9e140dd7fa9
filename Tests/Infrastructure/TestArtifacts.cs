namespace Hearth.Tests.Infrastructure;

/// <summary>
/// Files the tests leave for people: <c>artifacts/test-results/</c>, next to the test results. Figures
/// measured by tests go to <c>measurements.txt</c> there, which <c>./test.sh</c> prints at the end.
/// </summary>
public static class TestArtifacts
{
    private static readonly Lock Gate = new();

    /// <summary>artifacts/test-results (AppContext.BaseDirectory is artifacts/bin/Tests/&lt;configuration&gt;/).</summary>
    public static string Directory
    {
        get
        {
            var artifacts = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Parent!.Parent!.FullName;
            var directory = Path.Combine(artifacts, "test-results");
            System.IO.Directory.CreateDirectory(directory);
            return directory;
        }
    }

    /// <summary>Appends a measured figure to measurements.txt.</summary>
    public static void Record(string line)
    {
        lock (Gate)
        {
            File.AppendAllText(Path.Combine(Directory, "measurements.txt"), $"{DateTime.UtcNow:u}  {line}{Environment.NewLine}");
        }
    }
}
