namespace ActorEvents.Tests.Infrastructure;

/// <summary>A fact that runs only when <c>ACTOREVENTS_TEST_POSTGRES</c> is set (CI sets it), and is reported as skipped otherwise.</summary>
public sealed class PostgreSqlFactAttribute : FactAttribute
{
    public PostgreSqlFactAttribute()
    {
        if (TestDatabases.PostgresConnectionString is null)
        {
            Skip = $"{TestDatabases.PostgresVariable} is not set";
        }
    }
}
