namespace ActorEvents.Tests.Broker;

/// <summary>
/// A lock file in the temp folder that the framework's broker fault tests hold exclusively while the broker is down, and
/// the bench's broker smoke test and the sample's broker demo test shared while they run: the test assemblies run side
/// by side (flock on Linux). This file is compiled into the bench's tests too.
/// </summary>
public static class BrokerLockFile
{
    /// <summary>The lock file's path (the same in every test process of the machine).</summary>
    public static string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "actorevents-rabbitmq-tests.lock");

    /// <summary>Opens the lock file exclusively or shared, waiting (up to 5 minutes) while the other kind holds it.</summary>
    public static async Task<FileStream> OpenAsync(bool exclusive)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(5);
        while (true)
        {
            try
            {
                return new FileStream(Path, FileMode.OpenOrCreate, exclusive ? FileAccess.ReadWrite : FileAccess.Read, exclusive ? FileShare.None : FileShare.Read);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }
}
