"""Problem message catalogs, one module per feature key (`platform`: the generic codes), served by
`i18n.Translator`."""
