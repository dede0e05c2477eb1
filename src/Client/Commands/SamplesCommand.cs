using System.CommandLine;
using System.Globalization;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.PixelFormats;

namespace MobileNet.Orleans.Client.Commands;

/// <summary>
/// <c>mobilenet samples &lt;dir&gt;</c>: writes seeded synthetic JPEGs (gradients, discs, bars) for demos and load
/// tests when no photos are at hand. They are not photos: a real model's labels for them mean little.
/// </summary>
public static class SamplesCommand
{
    public static Command Create()
    {
        var directory = new Argument<DirectoryInfo>("dir") { Description = "folder to write sample-NNNNN.jpg files into (created if missing)" };
        var count = new Option<int>("--count", "-n") { Description = "how many images", DefaultValueFactory = _ => 100 };
        var width = new Option<int>("--width") { Description = "image width in pixels", DefaultValueFactory = _ => 320 };
        var height = new Option<int>("--height") { Description = "image height in pixels", DefaultValueFactory = _ => 240 };
        var seed = new Option<int>("--seed") { Description = "seed (same seed, same images)", DefaultValueFactory = _ => 1 };
        var command = new Command("samples", "Write synthetic sample JPEGs (for demos and load tests; not photos).") { directory, count, width, height, seed };
        command.SetAction(async (ParseResult parse, CancellationToken ct) =>
        {
            var n = parse.GetValue(count);
            var (w, h) = (parse.GetValue(width), parse.GetValue(height));
            if (n is < 1 or > 1_000_000)
            {
                throw new CliUsageException($"--count {n} must be between 1 and 1000000");
            }

            if (w is < 8 or > 4096 || h is < 8 or > 4096)
            {
                throw new CliUsageException($"--width/--height {w}x{h} must each be between 8 and 4096");
            }

            var dir = parse.GetValue(directory)!;
            dir.Create();
            var baseSeed = parse.GetValue(seed);
            var encoder = new JpegEncoder { Quality = 85 };
            await Parallel.ForEachAsync(Enumerable.Range(0, n), new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = ct }, async (i, token) =>
            {
                using var image = Generate(w, h, HashCode.Combine(baseSeed, i));
                await image.SaveAsync(Path.Combine(dir.FullName, string.Create(CultureInfo.InvariantCulture, $"sample-{i:D5}.jpg")), encoder, token).ConfigureAwait(false);
            });
            await parse.InvocationConfiguration.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"wrote {n} sample image(s) of {w}x{h} to {dir.FullName}"));
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>A gradient background with a few discs and bars, all from <paramref name="seed"/>.</summary>
    public static Image<Rgb24> Generate(int width, int height, int seed)
    {
        var random = new Random(seed);
        var image = new Image<Rgb24>(width, height);
        var (a, b) = (RandomColor(random), RandomColor(random));
        var discs = Enumerable.Range(0, random.Next(1, 5)).Select(_ => (X: random.Next(width), Y: random.Next(height), R: random.Next(Math.Min(width, height) / 8, Math.Min(width, height) / 3), Color: RandomColor(random))).ToList();
        var bar = (Y: random.Next(height), Thickness: random.Next(2, Math.Max(3, height / 10)), Color: RandomColor(random));
        image.ProcessPixelRows(rows =>
        {
            for (var y = 0; y < rows.Height; y++)
            {
                var row = rows.GetRowSpan(y);
                for (var x = 0; x < row.Length; x++)
                {
                    var t = (float)(x + y) / (width + height);
                    var pixel = new Rgb24((byte)(a.R + ((b.R - a.R) * t)), (byte)(a.G + ((b.G - a.G) * t)), (byte)(a.B + ((b.B - a.B) * t)));
                    foreach (var d in discs)
                    {
                        if (((x - d.X) * (x - d.X)) + ((y - d.Y) * (y - d.Y)) <= d.R * d.R)
                        {
                            pixel = d.Color;
                        }
                    }

                    if (Math.Abs(y - bar.Y) < bar.Thickness)
                    {
                        pixel = bar.Color;
                    }

                    row[x] = pixel;
                }
            }
        });
        return image;
    }

    private static Rgb24 RandomColor(Random random) => new((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256));
}
