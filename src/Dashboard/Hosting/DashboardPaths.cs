namespace MobileNet.Orleans.Dashboard.Hosting;

/// <summary>Where the dashboard lives on the silo's HTTP port (and Orleans' dashboard on the admin port).</summary>
public static class DashboardPaths
{
    public const string Root = "/dashboard";
    public const string Api = "/dashboard/api";
    public const string Login = "/dashboard/login";
    public const string Logout = "/dashboard/logout";
    public const string Orleans = "/orleans";
}
