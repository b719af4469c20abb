"""The people of the grids: households and their people, building and unit heads, the people's
diary (民情日记). Every read passes ``gis.cases.policy``'s ``people_*`` scopes."""
