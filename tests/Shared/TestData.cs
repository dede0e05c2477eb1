using System.Globalization;
using System.Text;
using MobileNet.Modeling.Architectures;
using MobileNet.Modeling.Onnx;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace MobileNet.Orleans.Testing;

/// <summary>Models and images for end-to-end tests: the real fixtures when present, else generated ones.</summary>
internal static class TestData
{
    public static string? FixturesRoot
    {
        get
        {
            var root = Environment.GetEnvironmentVariable("MOBILENET_FIXTURES");
            return !string.IsNullOrWhiteSpace(root) && Directory.Exists(root) ? root : null;
        }
    }

    /// <summary>A small seeded MobileNetV2 (width 0.35, 224 px, 1000 classes) with placeholder labels: fast, and its labels mean nothing.</summary>
    public static string WriteGeneratedModel(string directory, double width = 0.35)
    {
        var path = Path.Combine(directory, string.Create(CultureInfo.InvariantCulture, $"generated-v2-{width}.onnx"));
        OnnxModelFile.WriteFile(MobileNetBuilder.Build(new MobileNetSpec(MobileNetArchitecture.MobileNetV2, Width: width, Resolution: 224, Classes: 1000, Seed: 7)), path);
        File.WriteAllLines(Path.Combine(directory, "labels.txt"), Enumerable.Range(0, 1000).Select(i => string.Create(CultureInfo.InvariantCulture, $"class-{i:D3}")));
        return path;
    }

    /// <summary>A small JPEG of random blocks (distinct per seed).</summary>
    public static byte[] GeneratedJpeg(int seed, int size = 48)
    {
        var random = new Random(seed);
        using var image = new Image<Rgb24>(size, size);
        var block = size / 4;
        for (var by = 0; by < 4; by++)
        {
            for (var bx = 0; bx < 4; bx++)
            {
                var color = new Rgb24((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256));
                for (var y = by * block; y < (by + 1) * block; y++)
                {
                    for (var x = bx * block; x < (bx + 1) * block; x++)
                    {
                        image[x, y] = color;
                    }
                }
            }
        }

        using var stream = new MemoryStream();
        image.SaveAsJpeg(stream);
        return stream.ToArray();
    }

    /// <summary>The rows of a results CSV: image name and top-1 index (-1 for an error row).</summary>
    public static List<(string Image, int Top1, string? Error)> ReadResultsCsv(string path)
    {
        var lines = File.ReadAllLines(path, Encoding.UTF8);
        Assert.StartsWith("image,index_1,label_1,score_1", lines[0], StringComparison.Ordinal);
        var errorColumn = SplitCsv(lines[0]).IndexOf("error");
        Assert.True(errorColumn > 0, "no error column in " + lines[0]);
        return [.. lines.Skip(1).Select(line =>
        {
            var fields = SplitCsv(line);
            var error = fields[errorColumn].Length == 0 ? null : fields[errorColumn];
            return (fields[0], fields[1].Length == 0 ? -1 : int.Parse(fields[1], CultureInfo.InvariantCulture), error);
        })];
    }

    /// <summary>RFC 4180 fields of one line.</summary>
    public static List<string> SplitCsv(string line)
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    field.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == ',')
            {
                fields.Add(field.ToString());
                field.Clear();
            }
            else
            {
                field.Append(c);
            }
        }

        fields.Add(field.ToString());
        return fields;
    }
}
