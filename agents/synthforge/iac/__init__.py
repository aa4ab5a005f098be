"""SynthForge IaC: Terraform and Bicep generation, checkov checks, the fixer, writing modules."""
