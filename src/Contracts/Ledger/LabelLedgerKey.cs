using System.Security.Cryptography;
using System.Text;
using MobileNet.Orleans.Contracts.Storage;

namespace MobileNet.Orleans.Contracts.Ledger;

/// <summary>The ledger of a (source prefix, model SHA-256): its grain key and its blob folder name.</summary>
public static class LabelLedgerKey
{
    /// <summary>32 hex characters of SHA-256 over <c>container/prefix</c> (folder form) and the model hash.</summary>
    public static string Of(BlobPath source, string modelSha256)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentException.ThrowIfNullOrEmpty(modelSha256);
        var prefix = source.Prefix.Trim('/');
        var text = $"{source.Container}/{(prefix.Length == 0 ? "" : prefix + "/")}\n{modelSha256.ToLowerInvariant()}";
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..32];
    }

    /// <summary>Folder of the ledger's blobs in the job-state container.</summary>
    public static string Folder(string ledgerId) => $"ledgers/{ledgerId}/";
}

/// <summary>One ledger entry as stored in a segment blob (one JSON object per line: <c>{"n":name,"e":etag,"j":job}</c>).</summary>
public readonly record struct LedgerEntry(string Name, string? ETag, string JobId);

/// <summary>Reads and writes segment lines; shared by the silos (which write) and <c>results --latest</c> (which reads).</summary>
public static class LedgerEntryFormat
{
    public static string ToLine(LedgerEntry entry)
    {
        using var stream = new MemoryStream();
        using (var writer = new System.Text.Json.Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            writer.WriteString("n", entry.Name);
            if (entry.ETag is null)
            {
                writer.WriteNull("e");
            }
            else
            {
                writer.WriteString("e", entry.ETag);
            }

            writer.WriteString("j", entry.JobId);
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>Throws <see cref="FormatException"/> for a line that is not an entry.</summary>
    public static LedgerEntry Parse(string line)
    {
        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(line);
            var root = document.RootElement;
            var name = root.GetProperty("n").GetString() ?? throw new FormatException("ledger entry without a name");
            var etag = root.TryGetProperty("e", out var e) && e.ValueKind == System.Text.Json.JsonValueKind.String ? e.GetString() : null;
            var job = root.GetProperty("j").GetString() ?? throw new FormatException("ledger entry without a job");
            return new LedgerEntry(name, etag, job);
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new FormatException($"not a ledger entry line: {ex.Message}", ex);
        }
    }
}
