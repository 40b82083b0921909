//! The per-request opt-out.

/// Put this in a request's extensions to send it without a token:
///
/// ```
/// # async fn demo(client: reqwest_middleware::ClientWithMiddleware) -> Result<(), reqwest_middleware::Error> {
/// use reqwest_bearer::SkipAuth;
/// let health = client.get("https://api.example.com/health").with_extension(SkipAuth).send().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SkipAuth;
