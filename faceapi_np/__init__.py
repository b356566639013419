"""faceapi_np."""
