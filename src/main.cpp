// node: the relaychat relay (`node -s`) or terminal client (`node`).
int main() { return 0; }
