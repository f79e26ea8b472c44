use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    mercado::cli::run().await
}
