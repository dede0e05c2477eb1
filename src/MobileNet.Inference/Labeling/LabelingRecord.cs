namespace MobileNet.Inference;

/// <summary>One class and its score (probability after softmax). <see cref="Index"/> is the dataset class index (after any label offset).</summary>
public sealed record LabelScore(int Index, string Label, float Score);

/// <summary>
/// The result for one image: its top-k labels, or no labels and an error (<c>code: reason</c>). Every image of a run
/// gets exactly one record.
/// </summary>
public sealed record LabelingRecord(string Image, IReadOnlyList<LabelScore> Labels, string? Error)
{
    public static LabelingRecord Failed(string image, ImageError error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return new LabelingRecord(image, [], error.ToString());
    }

    /// <summary>Lowercase hex SHA-256 of the ONNX model that labeled the image (null when not recorded).</summary>
    public string? Model { get; init; }

    public bool Succeeded => Error is null;

    // Records compare by content (the list by elements) so round-trip tests and result merges can compare them.
    public bool Equals(LabelingRecord? other) =>
        other is not null && Image == other.Image && Error == other.Error && Model == other.Model && Labels.SequenceEqual(other.Labels);

    public override int GetHashCode() => HashCode.Combine(Image, Error, Labels.Count);
}
