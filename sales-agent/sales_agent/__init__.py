"""The sales agent: a LangChain agent that sells by calling the other agents through their contracts."""
