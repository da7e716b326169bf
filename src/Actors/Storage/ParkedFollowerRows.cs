using System.Data.Common;
using System.Text.Json;

namespace ActorEvents.Actors.Storage;

/// <summary>
/// The table of parked followers, one row per follower of a dead letter (<c>ae_parked_followers</c>), and the move of
/// the followers an earlier version kept as a JSON array in <c>ae_dead_letters.parked_followers</c> into it.
/// </summary>
internal static class ParkedFollowerRows
{
    /// <summary>The table on SQLite (on PostgreSQL it is part of <see cref="DatabaseSchema"/>'s DDL).</summary>
    public const string SqliteTable = """
        CREATE TABLE IF NOT EXISTS ae_parked_followers (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            dead_letter_id INTEGER NOT NULL,
            event_id TEXT NOT NULL,
            envelope TEXT NOT NULL,
            UNIQUE (dead_letter_id, event_id));
        """;

    /// <summary>The table on PostgreSQL.</summary>
    public const string PostgreSqlTable = """
        CREATE TABLE IF NOT EXISTS ae_parked_followers (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            dead_letter_id bigint NOT NULL,
            event_id text NOT NULL,
            envelope text NOT NULL,
            CONSTRAINT ae_parked_followers_uq UNIQUE (dead_letter_id, event_id));
        """;

    /// <summary>
    /// Moves every follower still held in the legacy JSON column into rows (in the array's order, after any row the entry
    /// has; a follower already there is not added twice) and empties the column. Runs in the caller's transaction; returns
    /// how many followers were moved.
    /// </summary>
    public static async Task<int> MoveLegacyFollowersAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        var arrays = new List<(long Id, string Json)>();
        await using (var select = DbCommands.Create(connection, transaction, "SELECT id, parked_followers FROM ae_dead_letters WHERE parked_followers <> '[]' ORDER BY id"))
        await using (var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                arrays.Add((reader.GetInt64(0), reader.GetString(1)));
            }
        }

        var moved = 0;
        foreach (var (id, json) in arrays)
        {
            using var document = JsonDocument.Parse(json);
            foreach (var follower in document.RootElement.EnumerateArray())
            {
                await using var insert = DbCommands.Create(connection, transaction,
                        "INSERT INTO ae_parked_followers (dead_letter_id, event_id, envelope) VALUES (@id, @eventId, @envelope) ON CONFLICT DO NOTHING")
                    .With("id", id).With("eventId", EventIdOf(follower)).With("envelope", follower.GetRawText());
                moved += await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await using var empty = DbCommands.Create(connection, transaction, "UPDATE ae_dead_letters SET parked_followers = '[]' WHERE id = @id").With("id", id);
            await empty.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        return moved;
    }

    private static string EventIdOf(JsonElement envelope)
    {
        foreach (var property in envelope.EnumerateObject())
        {
            if (string.Equals(property.Name, "eventId", StringComparison.OrdinalIgnoreCase))
            {
                return property.Value.GetString() ?? throw new InvalidDataException("A parked follower's eventId is null.");
            }
        }

        throw new InvalidDataException("A parked follower stored as JSON has no eventId.");
    }
}
