"""Model clients: endpoint and key configuration, the OpenAI-compatible client, price estimates."""
