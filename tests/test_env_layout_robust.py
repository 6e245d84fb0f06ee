from worldsim.env.maze_layout import generate_layout


def test_small_mazes_always_hold_their_landmarks():
    # seeds that once raised "could not place 3 landmarks" in a 5x5 maze (the tiny training config)
    for seed in range(400):
        layout = generate_layout(seed, 5, 0.15, 2, 3)
        assert layout.landmark_squares.shape == (3, 2)
        assert not layout.solid[layout.landmark_squares[:, 0], layout.landmark_squares[:, 1]].any()
