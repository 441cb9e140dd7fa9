namespace Hearth.Silo.Api;

/// <summary>Answers the API's endpoints share.</summary>
internal static class ApiResults
{
    /// <summary>What a 503 answers in <c>Retry-After</c>.</summary>
    public const string RetryAfterSeconds = "2";

    /// <summary>503 with a reason, and when to try again.</summary>
    public static IResult Unavailable(HttpContext context, string title, string detail)
    {
        context.Response.Headers.RetryAfter = RetryAfterSeconds;
        return Results.Problem(detail, statusCode: StatusCodes.Status503ServiceUnavailable, title: title);
    }
}
