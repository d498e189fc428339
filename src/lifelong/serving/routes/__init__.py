"""HTTP routes, one module per concern; :func:`lifelong.serving.app.create_app` includes them."""
