"""The end-to-end OCR engine: configuration, image input, and the ocr-run command."""
