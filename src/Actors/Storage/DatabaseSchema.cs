using ActorEvents.Actors.Configuration;
using Npgsql;

namespace ActorEvents.Actors.Storage;

/// <summary>
/// The one schema initializer: creates the database schema once, up front, before the actor system starts — every
/// table ActorEvents uses (dead letters and their parked followers, checkpoints, processed events), and on PostgreSQL
/// the journal's too — and brings a database of an earlier version up to date. On PostgreSQL the DDL runs under a
/// transaction-scoped advisory lock, so several nodes starting together never race (the plugin's own auto-initialize
/// is switched off there); on SQLite the folder is created, write-ahead logging switched on and the DDL run in one
/// transaction (the plugin creates the journal's tables there). The stores hold no DDL of their own.
/// </summary>
public static partial class DatabaseSchema
{
    /// <summary>Advisory lock key that serializes schema creation across nodes.</summary>
    public const long SchemaLockKey = 0x4163746f72457674; // "ActorEvt"

    // Same tables as Akka.Persistence.Sql's default mapping (journal, tags, snapshot), plus ActorEvents' own.
    private static readonly string PostgreSqlSchema = $"""
        CREATE TABLE IF NOT EXISTS journal (
            ordering bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            created bigint NOT NULL,
            deleted boolean NOT NULL,
            persistence_id text NOT NULL,
            sequence_number bigint NOT NULL,
            message bytea NOT NULL,
            manifest text,
            identifier integer,
            writer_uuid text,
            CONSTRAINT journal_uq UNIQUE (persistence_id, sequence_number));
        CREATE INDEX IF NOT EXISTS journal_created_idx ON journal (created);
        CREATE INDEX IF NOT EXISTS journal_sequence_number_idx ON journal (sequence_number);
        CREATE TABLE IF NOT EXISTS tags (
            ordering_id bigint NOT NULL,
            tag text NOT NULL,
            sequence_nr bigint NOT NULL,
            persistence_id text NOT NULL,
            CONSTRAINT "PK_tags" PRIMARY KEY (ordering_id, tag));
        CREATE INDEX IF NOT EXISTS tags_persistence_id_sequence_nr_idx ON tags (persistence_id, sequence_nr);
        CREATE INDEX IF NOT EXISTS tags_tag_idx ON tags (tag);
        CREATE TABLE IF NOT EXISTS snapshot (
            persistence_id text NOT NULL,
            sequence_number bigint NOT NULL,
            created bigint NOT NULL,
            snapshot bytea,
            manifest text,
            serializer_id integer,
            CONSTRAINT "PK_snapshot" PRIMARY KEY (persistence_id, sequence_number));
        CREATE INDEX IF NOT EXISTS snapshot_created_idx ON snapshot (created);
        CREATE INDEX IF NOT EXISTS snapshot_sequence_number_idx ON snapshot (sequence_number);
        CREATE TABLE IF NOT EXISTS ae_dead_letters (
            id bigserial PRIMARY KEY,
            handler text NOT NULL,
            event_id text NOT NULL,
            event_type text NOT NULL,
            aggregate_type text NOT NULL,
            aggregate_id text NOT NULL,
            sequence_nr bigint NOT NULL,
            envelope text NOT NULL,
            error_type text NOT NULL,
            error_message text NOT NULL,
            stack_trace text,
            attempts integer NOT NULL,
            first_failure_at timestamp without time zone NOT NULL,
            last_failure_at timestamp without time zone NOT NULL);
        ALTER TABLE ae_dead_letters ADD COLUMN IF NOT EXISTS resolving_until timestamp without time zone;
        DO $$ BEGIN
            -- A table of an earlier version kept the parked followers as a JSON array: new entries leave it empty.
            IF EXISTS (SELECT 1 FROM information_schema.columns
                       WHERE table_schema = current_schema() AND table_name = 'ae_dead_letters' AND column_name = 'parked_followers'
                         AND column_default IS NULL) THEN
                ALTER TABLE ae_dead_letters ALTER COLUMN parked_followers SET DEFAULT '[]';
            END IF;
        END $$;
        {ParkedFollowerRows.PostgreSqlTable}
        CREATE INDEX IF NOT EXISTS ae_parked_followers_entry_idx ON ae_parked_followers (dead_letter_id, id);
        CREATE TABLE IF NOT EXISTS ae_checkpoints (
            subscription text PRIMARY KEY,
            position bigint NOT NULL,
            paused boolean NOT NULL,
            updated_at timestamp without time zone NOT NULL);
        CREATE TABLE IF NOT EXISTS ae_processed_events (
            handler text NOT NULL,
            event_id text NOT NULL,
            processed_at timestamp without time zone NOT NULL,
            redeliveries integer NOT NULL,
            persistence_id text,
            sequence_nr bigint,
            causation_id text,
            follow_ups text,
            CONSTRAINT "PK_ae_processed_events" PRIMARY KEY (handler, event_id));
        DO $$ BEGIN
            -- A table of an earlier version: add the columns that link a row to the journal and keep its follow-ups
            -- (looked up first, so that a node starting on a current table takes no lock on it).
            IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                           WHERE table_schema = current_schema() AND table_name = 'ae_processed_events' AND column_name = 'follow_ups') THEN
                ALTER TABLE ae_processed_events ADD COLUMN IF NOT EXISTS persistence_id text, ADD COLUMN IF NOT EXISTS sequence_nr bigint,
                    ADD COLUMN IF NOT EXISTS causation_id text, ADD COLUMN IF NOT EXISTS follow_ups text;
            END IF;
        END $$;
        CREATE INDEX IF NOT EXISTS ae_processed_events_event_id_idx ON ae_processed_events (event_id);
        """;

    /// <summary>Prepares the configured database (nothing to do for the in-memory provider).</summary>
    public static async Task EnsureCreatedAsync(PersistenceOptions persistence, CancellationToken cancellationToken = default)
    {
        if (!persistence.AutoInitialize)
        {
            return;
        }

        var dialect = StorageDialect.Of(persistence.Provider);
        await dialect.EnsureCreatedAsync(dialect.ConnectionStringOf(persistence), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Creates (when missing) and upgrades ActorEvents' own tables in a database given by its linq2db provider name and
    /// connection string: for a store used on its own, e.g. by the command line on a database no node has started on.
    /// </summary>
    internal static Task EnsureTablesAsync(string linq2DbProvider, string connectionString, CancellationToken cancellationToken = default) =>
        (StorageDialect.OfLinq2DbProvider(linq2DbProvider) ?? throw new InvalidOperationException($"No ActorEvents tables for the linq2db provider '{linq2DbProvider}'."))
            .EnsureTablesAsync(connectionString, cancellationToken);

    internal static async Task CreatePostgreSqlAsync(string connectionString, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var lockCommand = new NpgsqlCommand($"SELECT pg_advisory_xact_lock({SchemaLockKey})", connection, transaction))
        {
            await lockCommand.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await using (var create = new NpgsqlCommand(PostgreSqlSchema, connection, transaction))
        {
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await using (var legacy = new NpgsqlCommand(
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'ae_dead_letters' AND column_name = 'parked_followers'",
            connection, transaction))
        {
            if ((long)(await legacy.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))! > 0)
            {
                // Followers an earlier version (or a node of it still running) wrote as JSON: moved into rows at each start.
                await ParkedFollowerRows.MoveLegacyFollowersAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
            }
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }
}
