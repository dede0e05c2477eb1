using System.CommandLine;
using System.Globalization;
using MobileNet.Orleans.Contracts.Security;
using MobileNet.Orleans.Security.Certificates;

namespace MobileNet.Orleans.Client.Commands;

/// <summary>
/// <c>mobilenet certs ca|issue</c>: a local CA and the silo and client certificates it signs (folders in the
/// Kubernetes TLS Secret layout: tls.crt, tls.key, ca.crt). For local clusters and tests; production issues the same
/// shape with cert-manager or its own CA (docs/SECURITY.md).
/// </summary>
public static class CertsCommand
{
    public static Command Create()
    {
        var certs = new Command("certs", "Create a local CA and issue silo and client certificates (mutual TLS and roles).");
        certs.Subcommands.Add(CreateAuthority());
        certs.Subcommands.Add(CreateIssue());
        return certs;
    }

    private static Command CreateAuthority()
    {
        var output = new Option<DirectoryInfo>("--out") { Description = "folder for ca.crt and ca.key (ca.key stays private: it can issue any role)", Required = true };
        var name = new Option<string>("--name") { Description = "the CA's common name", DefaultValueFactory = _ => "MobileNet local CA" };
        var days = new Option<int>("--days") { Description = "validity in days", DefaultValueFactory = _ => 365 };
        var command = new Command("ca", "Create a certificate authority (refuses to overwrite one).") { output, name, days };
        command.SetAction(async (ParseResult parse, CancellationToken ct) =>
        {
            var folder = parse.GetValue(output)!.FullName;
            using var ca = Run(() => CertificateIssuer.CreateAuthority(folder, parse.GetValue(name)!, Days(parse.GetValue(days))));
            await parse.InvocationConfiguration.Error.WriteLineAsync($"created CA '{ca.Subject}' in {folder} (valid until {ca.NotAfter.ToUniversalTime():yyyy-MM-dd})");
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command CreateIssue()
    {
        var authority = new Option<DirectoryInfo>("--ca") { Description = "folder of the CA (ca.crt, ca.key)", Required = true };
        var output = new Option<DirectoryInfo>("--out") { Description = "folder for tls.crt, tls.key and ca.crt (what --tls-dir and the silo's Tls:CertificateDirectory read)", Required = true };
        var name = new Option<string>("--name") { Description = "who the certificate is for (CN; shown in logs and refusals)", Required = true };
        var role = new Option<string>("--role") { Description = "reader (status, jobs, results), submitter (+ submit, cancel), admin, or silo (a cluster member)", Required = true };
        var days = new Option<int>("--days") { Description = "validity in days (keep client certificates short-lived: there is no revocation list)", DefaultValueFactory = _ => 30 };
        var hosts = new Option<string[]>("--host") { Description = "extra DNS name or IP for a silo certificate (repeatable)" };
        var command = new Command("issue", "Issue a certificate signed by the CA.") { authority, output, name, role, days, hosts };
        command.SetAction(async (ParseResult parse, CancellationToken ct) =>
        {
            if (!CertificateNames.TryParseRole(parse.GetValue(role), out var parsed))
            {
                throw new CliUsageException($"--role '{parse.GetValue(role)}' is not a role: give reader, submitter, admin or silo");
            }

            if (parsed != CallerRole.Silo && parse.GetValue(hosts) is { Length: > 0 })
            {
                throw new CliUsageException("--host only applies to silo certificates");
            }

            var folder = parse.GetValue(output)!.FullName;
            var validity = Days(parse.GetValue(days));
            using (var ca = Run(() => CertificateIssuer.LoadAuthority(parse.GetValue(authority)!.FullName)))
            {
                Run(() =>
                {
                    CertificateIssuer.Issue(ca, folder, parse.GetValue(name)!, parsed, validity, parse.GetValue(hosts));
                    return 0;
                });
            }

            await parse.InvocationConfiguration.Error.WriteLineAsync($"issued {CertificateNames.RoleName(parsed)} certificate '{parse.GetValue(name)}' into {folder} (valid {validity.TotalDays.ToString(CultureInfo.InvariantCulture)} days)");
            return ExitCodes.Success;
        });
        return command;
    }

    private static TimeSpan Days(int days) =>
        days is >= 1 and <= 3650 ? TimeSpan.FromDays(days) : throw new CliUsageException($"--days {days} must be between 1 and 3650");

    private static T Run<T>(Func<T> action)
    {
        try
        {
            return action();
        }
        catch (CertificateException ex)
        {
            throw new CliUsageException(ex.Message);
        }
        catch (IOException ex)
        {
            throw new CliUsageException(ex.Message);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new CliUsageException(ex.Message);
        }
    }
}
