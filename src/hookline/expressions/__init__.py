"""Expressions: `{{ }}` templates, the variable scope, the condition calculators and the calculation engines.

The bottom layer that the trigger (answers and dedupe keys rendered from the request), the engine
(scopes of runs) and the nodes (configs rendered, conditions and calculations evaluated) all use;
it imports nothing of theirs.
"""
