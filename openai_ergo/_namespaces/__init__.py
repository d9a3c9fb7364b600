"""The typed tier: every operation of the API as a method of a namespace named as the official
SDK names it (`client.files.retrieve(file_id)`). `_generated/` is written by
`openai_ergo.codegen`; `_base` is what it stands on."""
