"""Scoring a model: LPIPS and SSIM (`metrics`), held-out styles x contents with content,
style, LPIPS and SSIM scores and throughput (`held_out`), zero-shot words (`attributes`),
and what training evaluates along the way (`evaluator`)."""
