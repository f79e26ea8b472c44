use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    mercado::app::cli::run().await
}
