"""Programme knowledge: YAML data files, pydantic models, and the validating loader."""
