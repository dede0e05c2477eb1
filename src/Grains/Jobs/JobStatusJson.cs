using System.Text.Json;
using System.Text.Json.Serialization;
using MobileNet.Orleans.Contracts.Jobs;

namespace MobileNet.Orleans.Grains.Jobs;

/// <summary>The job summary blob's format: the final <see cref="JobStatus"/> in camelCase JSON, states as names.</summary>
internal static class JobStatusJson
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
    };

    public static string Serialize(JobStatus status) => JsonSerializer.Serialize(status, Options);

    public static JobStatus? Deserialize(string json) => JsonSerializer.Deserialize<JobStatus>(json, Options);
}
