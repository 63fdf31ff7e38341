"""The shared contract every stage reads: the row contracts of a dataset repo (`schema`), rows streamed from files,
dataset folders and the Hub (`sources`), the chat contract - the prompt builder, the SFT conversation, the
`<think>` markers and the reply splitter (`chat`) -, code tests in the forms public datasets ship them, read
into the contract's (`testcases`), ordered bounded parallel work and the fork lock
(`parallel`), and the log and progress callback types with `package_version` (`log`).

May import: nothing of kit but kit.core - it is the lowest layer, and every other package builds on it. One
exception, named in tests/test_kit_architecture.py: `kit.core.sources` imports `kit` for `kit.__file__`, to find
the checkout's recipes/ folder when it names the recipe that makes a missing folder.
"""
