"""The points engine (计分制奖惩考核): pure functions over events and a versioned rule file."""
