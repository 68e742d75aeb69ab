"""English words that are also names or employers ("Will", "Grace", "Square", "Long").

Matched case-insensitively, "I will call" would lose its verb to <CANDIDATE_FIRST_NAME>,
so a one-word name in this list only matches when written capitalised.
"""

from __future__ import annotations

_WORDS = """
    able ace acre admiral amber angel april art ash atlas august autumn baker bay beach bell berry best
    bill bird bishop black blake block bloom blue bond booth box brand bright brook brooks brown buck
    bush butler cash chance chase cherry church clay cliff coffee cole cook crane crystal dale dash dawn
    day dean dell delta don dove drew duke dusty early east eve ever faith fall farmer field fields fish
    fisher flower ford forest fox frank free french friend front gale gap gates gay gene german gift glass
    gold golden gray green grey grace guy hall hardy harper hart hay heath hill holly honey hope house
    hunt hunter iris ivy jack jade jay jewel joy june key king knight lake lamb land lane lark lee light
    lily linear little long love lowe lucky major march mark marsh marshall mason may meadow mercury meta
    miles mill miller moon moore more morning moss nash new newman night noble north notion oak ocean
    oracle page palmer park parker pat patience pearl penny pepper pierce pike pine pitt plaid poe pope
    porter power price prince pure rain ramp ray read reed rich ridge river robin rock rose ross ruby rush
    sage salt sandy savage scott sea shadow sharp shell shepherd short silver sky slack small snow spring
    square stark steel sterling stone storm story street strong sue summer sunny swift target temple
    true tucker turner victor vine violet wade walker wall ward warren waters way weaver well wells west
    white wilde will winter wise wolf wood woods worth wren young zoom
"""

COMMON_WORDS: frozenset[str] = frozenset(_WORDS.split())
