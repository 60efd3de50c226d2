using System.Text.Json;
using Dapper;
using Microsoft.Data.Sqlite;
using Uld.Contracts;
using Uld.Contracts.Forget;

namespace Uld.Forget.Store;

/// <summary>
/// The requests and their transitions in SQLite (<c>forget.db</c> in the data directory). Every change is one
/// transaction that rewrites the request's document and, when the state changed, appends the transition with its
/// time — so the history an auditor reads is exactly the sequence of committed states, and a process killed between
/// two changes leaves the last committed one. WAL mode lets the API read while the worker writes.
/// </summary>
public sealed class ForgetRequestStore
{
    private static readonly JsonSerializerOptions DocumentJson = new(Json.Options) { WriteIndented = false };
    private readonly string _connectionString;
    private readonly TimeProvider _clock;

    /// <summary>Raised after every committed change (the audit record is rewritten from it).</summary>
    public event Action<RequestRecord>? Changed;

    public ForgetRequestStore(string dataDirectory, TimeProvider clock)
    {
        Directory.CreateDirectory(dataDirectory);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(dataDirectory, "forget.db"),
            Mode = SqliteOpenMode.ReadWriteCreate,
            DefaultTimeout = 30,
            Pooling = false,
        }.ToString();
        _clock = clock;
        using var connection = Open();
        connection.Execute("""
            PRAGMA journal_mode = WAL;
            CREATE TABLE IF NOT EXISTS requests (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                id TEXT NOT NULL UNIQUE,
                state TEXT NOT NULL,
                document TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS transitions (
                request_id TEXT NOT NULL REFERENCES requests(id),
                number INTEGER NOT NULL,
                state TEXT NOT NULL,
                at TEXT NOT NULL,
                detail TEXT,
                PRIMARY KEY (request_id, number));
            """);
    }

    /// <summary>Stores a new request in state queued; returns it with its submission number.</summary>
    public RequestRecord Insert(RequestRecord request)
    {
        var now = _clock.GetUtcNow();
        using var connection = Open();
        using var transaction = connection.BeginTransaction();
        var stored = request with { State = ForgetStates.Queued, CreatedAt = now, UpdatedAt = now };
        var seq = connection.ExecuteScalar<long>("INSERT INTO requests (id, state, document) VALUES (@Id, @State, '{}'); SELECT last_insert_rowid();",
            new { stored.Id, stored.State }, transaction);
        stored = stored with { Seq = seq };
        connection.Execute("UPDATE requests SET document = @Document WHERE id = @Id", new { Document = Serialize(stored), stored.Id }, transaction);
        AppendTransition(connection, transaction, stored.Id, stored.State, now, null);
        transaction.Commit();
        Changed?.Invoke(stored);
        return stored;
    }

    public RequestRecord? Find(string id)
    {
        using var connection = Open();
        return connection.QuerySingleOrDefault<string>("SELECT document FROM requests WHERE id = @id", new { id }) is { } document ? Deserialize(document) : null;
    }

    /// <summary>Every request in submission order.</summary>
    public IReadOnlyList<RequestRecord> All()
    {
        using var connection = Open();
        return connection.Query<string>("SELECT document FROM requests ORDER BY seq").Select(Deserialize).ToList();
    }

    /// <summary>The earliest submitted request that has not reached a final state: the worker's next (or interrupted) one.</summary>
    public RequestRecord? NextUnfinished()
    {
        using var connection = Open();
        return connection.QueryFirstOrDefault<string>("SELECT document FROM requests WHERE state NOT IN @Final ORDER BY seq LIMIT 1",
            new { Final = new[] { ForgetStates.Deployed, ForgetStates.Rejected, ForgetStates.Failed } }) is { } document ? Deserialize(document) : null;
    }

    /// <summary>The requests of a deployment in a state, in submission order (e.g. those already deployed).</summary>
    public IReadOnlyList<RequestRecord> InState(string deployment, string state) =>
        All().Where(r => r.Deployment == deployment && r.State == state).ToList();

    public IReadOnlyList<TransitionView> Transitions(string id)
    {
        using var connection = Open();
        return connection.Query<(string State, string At, string? Detail)>("SELECT state, at, detail FROM transitions WHERE request_id = @id ORDER BY number", new { id })
            .Select(t => new TransitionView(t.State, DateTimeOffset.Parse(t.At, System.Globalization.CultureInfo.InvariantCulture), t.Detail)).ToList();
    }

    /// <summary>
    /// Applies <paramref name="change"/> to the stored request in one transaction; a new state is appended to the
    /// transitions with <paramref name="detail"/> (also an unchanged state, with <paramref name="recordUnchangedState"/>:
    /// a step that starts again after a restart). Returns the stored result.
    /// </summary>
    public RequestRecord Update(string id, Func<RequestRecord, RequestRecord> change, string? detail = null, bool recordUnchangedState = false)
    {
        using var connection = Open();
        using var transaction = connection.BeginTransaction(deferred: false);
        var document = connection.QuerySingleOrDefault<string>("SELECT document FROM requests WHERE id = @id", new { id }, transaction)
                       ?? throw new KeyNotFoundException($"no forget request {id}.");
        var before = Deserialize(document);
        var now = _clock.GetUtcNow();
        var after = change(before) with { Id = before.Id, Seq = before.Seq, CreatedAt = before.CreatedAt, UpdatedAt = now };
        connection.Execute("UPDATE requests SET state = @State, document = @Document WHERE id = @Id",
            new { after.State, Document = Serialize(after), after.Id }, transaction);
        if (after.State != before.State || recordUnchangedState) AppendTransition(connection, transaction, id, after.State, now, detail);
        transaction.Commit();
        Changed?.Invoke(after);
        return after;
    }

    private static void AppendTransition(SqliteConnection connection, SqliteTransaction transaction, string id, string state, DateTimeOffset at, string? detail) =>
        connection.Execute("""
            INSERT INTO transitions (request_id, number, state, at, detail)
            VALUES (@id, (SELECT COALESCE(MAX(number), 0) + 1 FROM transitions WHERE request_id = @id), @state, @at, @detail)
            """, new { id, state, at = at.ToString("O", System.Globalization.CultureInfo.InvariantCulture), detail }, transaction);

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        return connection;
    }

    private static string Serialize(RequestRecord request) => JsonSerializer.Serialize(request, DocumentJson);

    private static RequestRecord Deserialize(string document) =>
        JsonSerializer.Deserialize<RequestRecord>(document, DocumentJson) ?? throw new InvalidDataException("an empty request document in forget.db.");
}
